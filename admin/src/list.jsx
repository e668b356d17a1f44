// A spec's records: a sortable, paged table (100 rows a page), BM25 search, the collection
// "as of" any second, and the trash ("Show deleted").
import { useEffect, useState } from "preact/hooks";
import { request, q } from "./api.js";
import { columns, fromLocalInput, resourceName, show, specTitle } from "./schema.js";

const PAGE = 100;

export function List({ spec, initialAsOf, navigate }) {
  const title = specTitle(spec);
  const cols = columns(spec);
  const [sort, setSort] = useState({ column: "updated_at", desc: true });
  const [page, setPage] = useState(0);
  const [search, setSearch] = useState("");
  const [searchText, setSearchText] = useState("");
  const [asOf, setAsOf] = useState(initialAsOf || "");
  const [deleted, setDeleted] = useState(false);
  const [state, setState] = useState({ rows: [], total: 0, loading: true, error: null });

  useEffect(() => {
    setPage(0);
  }, [spec.name, search, asOf, deleted, sort.column, sort.desc]);

  useEffect(() => {
    let cancelled = false;
    const order = `order=${sort.column}.${sort.desc ? "desc" : "asc"}.nullslast,id`;
    const range = `limit=${PAGE}&offset=${page * PAGE}`;
    let path;
    if (deleted) {
      const dataCol = (c) => (["revision", "updated_at", "id"].includes(c) ? c : `data->>${c}`);
      const o = sort.column === "updated_at" ? "valid_from" : dataCol(sort.column);
      path = `/${spec.name}_revision?op=eq.delete&valid_to=is.null&order=${o}.${sort.desc ? "desc" : "asc"}.nullslast,id&${range}`;
    } else if (search) {
      path = `/rpc/${spec.name}_search?q=${q(search)}&top=1000&${range}`;
    } else if (asOf) {
      path = `/rpc/${spec.name}_as_of?at=${q(fromLocalInput(asOf))}&${order}&${range}`;
    } else {
      path = `/${spec.name}?${order}&${range}`;
    }
    setState((s) => ({ ...s, loading: true, error: null }));
    request("GET", path, { count: true })
      .then(({ data, total }) => {
        if (cancelled) return;
        const rows = deleted
          ? data.map((r) => ({ ...r.data, id: r.id, revision: r.revision, updated_at: r.valid_from, __deleted: true }))
          : data;
        setState({ rows, total: total ?? rows.length, loading: false, error: null });
      })
      .catch((e) => !cancelled && setState({ rows: [], total: 0, loading: false, error: e.message }));
    return () => {
      cancelled = true;
    };
  }, [spec.name, sort.column, sort.desc, page, search, asOf, deleted]);

  const all = [...cols.map((c) => ({ key: c.name, label: (c.prop && c.prop.title) || c.name })), { key: "revision", label: "Revision" }, { key: "updated_at", label: "Updated" }];
  const headingId = `list-${spec.name}`;
  const pages = Math.max(1, Math.ceil(state.total / PAGE));
  const link = (row) => {
    const suffix = row.__deleted ? "?deleted" : asOf ? `?asof=${q(asOf)}` : "";
    return `#/spec/${spec.name}/${row.id}${suffix}`;
  };

  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {spec.schema && spec.schema.description ? <p class="help">{spec.schema.description}</p> : null}
      <div class="toolbar">
        <button type="button" disabled={!spec.may.insert} onClick={() => navigate(`#/spec/${spec.name}/new`)}>
          New
        </button>
        {spec.search ? (
          <input
            type="search"
            aria-label="Search"
            placeholder="Search"
            value={searchText}
            onInput={(e) => {
              setSearchText(e.currentTarget.value);
              if (e.currentTarget.value === "") setSearch("");
            }}
            onKeyDown={(e) => e.key === "Enter" && setSearch(e.currentTarget.value.trim())}
          />
        ) : null}
        <label>
          As of{" "}
          <input type="datetime-local" step="1" value={asOf} onChange={(e) => setAsOf(e.currentTarget.value)} />
        </label>
        <label>
          <input type="checkbox" checked={deleted} onChange={(e) => setDeleted(e.currentTarget.checked)} /> Show deleted
        </label>
      </div>
      {state.error ? <p role="alert">{state.error}</p> : null}
      <table aria-labelledby={headingId} aria-busy={state.loading ? "true" : "false"}>
        <thead>
          <tr>
            {all.map((c) => {
              const active = sort.column === c.key;
              return (
                <th scope="col" aria-sort={active ? (sort.desc ? "descending" : "ascending") : undefined}>
                  {search ? (
                    c.label
                  ) : (
                    <button type="button" class="sort" onClick={() => setSort({ column: c.key, desc: active ? !sort.desc : false })}>
                      {c.label}
                    </button>
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {state.rows.map((row) => (
            <tr key={row.id}>
              {all.map((c, i) => (
                <td>
                  {i === 0 ? <a href={link(row)}>{resourceName(row)}</a> : c.key === "updated_at" ? new Date(row.updated_at).toLocaleString() : show(row[c.key])}
                  {i === 0 && row.highlights ? <Highlights highlights={row.highlights} /> : null}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <div class="pager">
        <span>{`${state.total} ${state.total === 1 ? "record" : "records"}${deleted ? " deleted" : ""}, page ${page + 1} of ${pages}`}</span>
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Previous page
        </button>
        <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
          Next page
        </button>
      </div>
    </section>
  );
}

/** Search highlights: the matched words are <b>…</b> in the server's text; shown as <mark>. */
function Highlights({ highlights }) {
  const text = Object.values(highlights).join(" … ");
  const parts = text.split(/(<b>.*?<\/b>)/g);
  return (
    <small class="hit">
      {parts.map((p) => (p.startsWith("<b>") ? <mark>{p.slice(3, -4)}</mark> : p))}
    </small>
  );
}
