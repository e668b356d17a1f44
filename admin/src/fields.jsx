// The form fields of a JSON Schema: one labelled control per property, groups for nested
// objects and lists, the property's description as the accessible description, and the
// spec's errors as visible text the control points at (aria-describedby, aria-invalid).
import { labelOf, properties, typeOf, errorsAt } from "./schema.js";

let counter = 0;
const uid = (p) => `${p}-${++counter}`;

/** The fields of an object schema. `value` and `onChange` hold the raw form values. */
export function Fields({ schema, order, value, onChange, errors, base = "", readOnly }) {
  return properties(schema, order).map((f) => (
    <Field
      key={f.name}
      field={f}
      value={value[f.name]}
      onChange={(v) => onChange({ ...value, [f.name]: v })}
      errors={errors}
      path={`${base}/${f.name}`}
      readOnly={readOnly}
    />
  ));
}

function Messages({ id, messages }) {
  if (!messages.length) return null;
  return (
    <span id={id} class="error">
      {messages.join("; ")}
    </span>
  );
}

function Field({ field, value, onChange, errors, path, readOnly }) {
  const { name, prop, type, required } = field;
  const label = labelOf(name, prop);
  const id = uid("f");
  const helpId = prop && prop.description ? `${id}-help` : null;
  const messages = errorsAt(errors, path);
  const errorId = messages.length ? `${id}-error` : null;
  const describedBy = [errorId, helpId].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    "aria-describedby": describedBy,
    "aria-invalid": messages.length ? "true" : undefined,
    "aria-required": required ? "true" : undefined,
    required: required || undefined,
    disabled: readOnly || undefined,
  };
  const help = helpId ? (
    <span id={helpId} class="help">
      {prop.description}
    </span>
  ) : null;
  const mark = required ? " *" : "";

  if (type === "object") {
    return (
      <fieldset aria-describedby={describedBy}>
        <legend>{label + mark}</legend>
        {help}
        <Messages id={errorId} messages={messages} />
        <Fields schema={prop} value={value || {}} onChange={onChange} errors={errors} base={path} readOnly={readOnly} />
      </fieldset>
    );
  }
  if (type === "list") {
    const items = value || [];
    const itemField = { type: typeOf(prop.items), prop: prop.items, required: true, item: true };
    return (
      <fieldset aria-describedby={describedBy}>
        <legend>{label + mark}</legend>
        {help}
        <Messages id={errorId} messages={messages} />
        {items.map((item, i) => (
          <div class="item" key={i}>
            <Control
              field={itemField}
              label={`Item ${i + 1}`}
              value={item}
              onChange={(v) => onChange(items.map((x, j) => (j === i ? v : x)))}
              common={{ id: `${id}-${i}`, disabled: readOnly || undefined, "aria-invalid": errorsAt(errors, `${path}/${i}`).length ? "true" : undefined }}
              errors={errorsAt(errors, `${path}/${i}`)}
            />
            <button type="button" disabled={readOnly} onClick={() => onChange(items.filter((_, j) => j !== i))}>
              {`Remove item ${i + 1}`}
            </button>
          </div>
        ))}
        <button type="button" disabled={readOnly} onClick={() => onChange([...items, ""])}>
          Add item
        </button>
      </fieldset>
    );
  }
  return (
    <div class="field">
      <Control field={field} label={label + mark} value={value} onChange={onChange} common={common} errors={[]} />
      {help}
      <Messages id={errorId} messages={messages} />
    </div>
  );
}

/** One labelled input for a scalar. */
function Control({ field, label, value, onChange, common, errors }) {
  const { type, prop } = field;
  const errorId = errors.length ? `${common.id}-error` : null;
  const props = errorId ? { ...common, "aria-describedby": [errorId, common["aria-describedby"]].filter(Boolean).join(" ") } : common;
  let input;
  if (type === "boolean") {
    input = <input type="checkbox" {...props} required={undefined} checked={Boolean(value)} onChange={(e) => onChange(e.currentTarget.checked)} />;
    return (
      <span class="check">
        {input}
        <label for={common.id}>{label}</label>
        <Messages id={errorId} messages={errors} />
      </span>
    );
  }
  if (type === "enum") {
    input = (
      <select {...props} value={value ?? ""} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">—</option>
        {prop.enum.map((v) => (
          <option value={String(v)}>{String(v)}</option>
        ))}
      </select>
    );
  } else if (type === "json") {
    input = <textarea {...props} rows={3} value={value ?? ""} onInput={(e) => onChange(e.currentTarget.value)} />;
  } else {
    const kind = { integer: "number", number: "number", datetime: "datetime-local", date: "date" }[type] || "text";
    const long = type === "string" && !field.item && !prop.format && !prop.pattern && (prop.maxLength === undefined || prop.maxLength > 200);
    input = long ? (
      <textarea {...props} rows={2} value={value ?? ""} onInput={(e) => onChange(e.currentTarget.value)} />
    ) : (
      <input
        type={kind}
        step={type === "number" ? "any" : type === "datetime" ? "1" : undefined}
        {...props}
        value={value ?? ""}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  }
  return (
    <>
      <label for={common.id}>{label}</label>
      {input}
      <Messages id={errorId} messages={errors} />
    </>
  );
}
