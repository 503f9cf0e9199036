// Form fields with their label and the API's message for them (problem+json errors[]).
import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

interface TextFieldProps {
  label: string;
  value: string;
  onInput: (v: string) => void;
  error?: string;
  type?: 'text' | 'email' | 'tel' | 'number' | 'search';
  required?: boolean;
  hint?: string;
  autoComplete?: string;
  name?: string;
  min?: number;
  max?: number;
  inputRef?: (el: HTMLInputElement | null) => void;
  multiline?: boolean;
}

/** slug names a field after its label when no name is given (tests and autofill find it). */
function slug(label: string): string {
  return label.toLowerCase().replace(/\(.*?\)/g, '').trim().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

export function TextField(p: TextFieldProps) {
  const id = useId();
  const described = [p.hint ? `${id}-hint` : '', p.error ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: p.name ?? slug(p.label),
    value: p.value,
    required: p.required,
    'aria-invalid': p.error ? true : undefined,
    'aria-describedby': described,
  };
  return (
    <div class={`field${p.error ? ' has-error' : ''}`}>
      <label for={id}>
        {p.label}
        {p.required ? <span aria-hidden="true"> *</span> : null}
      </label>
      {p.hint ? <p id={`${id}-hint`} class="hint">{p.hint}</p> : null}
      {p.multiline ? (
        <textarea {...common} rows={6} onInput={(e) => p.onInput((e.target as HTMLTextAreaElement).value)} />
      ) : (
        <input
          {...common}
          ref={p.inputRef}
          type={p.type ?? 'text'}
          min={p.min}
          max={p.max}
          autoComplete={p.autoComplete ?? 'off'}
          onInput={(e) => p.onInput((e.target as HTMLInputElement).value)}
        />
      )}
      {p.error ? <p id={`${id}-err`} class="field-error">{p.error}</p> : null}
    </div>
  );
}

interface ChecksProps {
  legend: string;
  options: { value: string; label?: string; note?: string }[];
  selected: string[];
  onChange: (v: string[]) => void;
  error?: string;
  hint?: string;
}

/** Checks is a group of checkboxes (permissions, email types, roles) as one field. */
export function Checks(p: ChecksProps) {
  const id = useId();
  const toggle = (v: string, on: boolean) => p.onChange(on ? [...p.selected.filter((x) => x !== v), v] : p.selected.filter((x) => x !== v));
  return (
    <fieldset class={`field checks${p.error ? ' has-error' : ''}`} aria-describedby={p.error ? `${id}-err` : undefined}>
      <legend>{p.legend}</legend>
      {p.hint ? <p class="hint">{p.hint}</p> : null}
      <div class="check-options">
        {p.options.map((o) => (
          <label key={o.value} class="check">
            <input type="checkbox" checked={p.selected.includes(o.value)} onChange={(e) => toggle(o.value, (e.target as HTMLInputElement).checked)} />
            {o.label ?? o.value}
            {o.note ? <span class="note"> ({o.note})</span> : null}
          </label>
        ))}
      </div>
      {p.error ? <p id={`${id}-err`} class="field-error">{p.error}</p> : null}
    </fieldset>
  );
}

interface SelectProps {
  label: string;
  value: string;
  onChange: (v: string) => void;
  options: { value: string; label: string }[];
  error?: string;
}

export function Select(p: SelectProps) {
  const id = useId();
  return (
    <div class={`field${p.error ? ' has-error' : ''}`}>
      <label for={id}>{p.label}</label>
      <select id={id} name={slug(p.label)} value={p.value} aria-invalid={p.error ? true : undefined} aria-describedby={p.error ? `${id}-err` : undefined} onChange={(e) => p.onChange((e.target as HTMLSelectElement).value)}>
        {p.options.map((o) => (
          <option key={o.value} value={o.value}>{o.label}</option>
        ))}
      </select>
      {p.error ? <p id={`${id}-err`} class="field-error">{p.error}</p> : null}
    </div>
  );
}

/** Alert shows a problem (role alert) or a success (role status). */
export function Alert(p: { kind: 'error' | 'ok' | 'info' | 'warn'; children: ComponentChildren }) {
  return (
    <div class={`alert alert-${p.kind}`} role={p.kind === 'error' ? 'alert' : 'status'}>
      {p.children}
    </div>
  );
}
