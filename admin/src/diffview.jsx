// Field-level differences between two documents: only the changed fields, each with its
// title, the old value in <del> and the new one in <ins>; long texts word by word (the
// `diff` package), so that a screen reader reads what changed, not two whole paragraphs.
import { diffWords } from "diff";
import { changes, show } from "./schema.js";

const LONG = 60;

export function Changes({ schema, order, from, to }) {
  const list = changes(schema, from, to, "", order);
  if (!list.length) return <p>No field changed.</p>;
  return (
    <dl class="changes">
      {list.map((c) => (
        <div key={c.path}>
          <dt>{c.label}</dt>
          <dd>
            <Value from={c.from} to={c.to} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

function Value({ from, to }) {
  const a = show(from);
  const b = show(to);
  if (typeof from === "string" && typeof to === "string" && (a.length > LONG || b.length > LONG)) {
    return diffWords(a, b).map((part, i) =>
      part.added ? <ins key={i}>{part.value}</ins> : part.removed ? <del key={i}>{part.value}</del> : <span key={i}>{part.value}</span>,
    );
  }
  return (
    <>
      {a !== "" || from !== null ? <del>{a === "" ? "(empty)" : a}</del> : <del>(none)</del>} <ins>{to === null ? "(none)" : b === "" ? "(empty)" : b}</ins>
    </>
  );
}
