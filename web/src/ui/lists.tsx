// Lists: paging over the API's cursors, and tables that become stacked cards on narrow screens.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Problem } from '../api/client';
import type { Result } from '../errors';
import { describe } from '../errors';
import { Alert } from './forms';

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface Paged<T> {
  items: T[];
  loading: boolean;
  error?: Problem;
  page: number;
  hasNext: boolean;
  next: () => void;
  prev: () => void;
  reload: () => void;
  /** setItems changes the shown page in place (after an edit). */
  setItems: (f: (items: T[]) => T[]) => void;
}

/**
 * usePaged loads a list page by page with the API's opaque cursors: it keeps the cursors of the
 * pages seen, so Previous goes back. A change of deps starts again at the first page.
 */
export function usePaged<T>(load: (cursor?: string) => Promise<Result<Page<T>>>, deps: unknown[]): Paged<T> {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [items, setItemsState] = useState<T[]>([]);
  const [nextCursor, setNext] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Problem | undefined>();
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const page = cursors.length - 1;

  useEffect(() => setCursors([undefined]), deps);

  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    load(cursors[page]).then((r) => {
      if (mine !== seq.current) return; // a later load won
      setLoading(false);
      if (r.error) {
        setError(r.error);
        setItemsState([]);
        setNext(undefined);
      } else {
        setError(undefined);
        setItemsState(r.data.items);
        setNext(r.data.nextCursor);
      }
    });
  }, [cursors, tick]);

  return {
    items,
    loading,
    error,
    page,
    hasNext: !!nextCursor,
    next: useCallback(() => nextCursor && setCursors((c) => [...c, nextCursor]), [nextCursor]),
    prev: useCallback(() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)), []),
    reload: useCallback(() => setTick((t) => t + 1), []),
    setItems: setItemsState,
  };
}

/** Pager is the Previous / Next control of a paged list. */
export function Pager<T>({ list, label }: { list: Paged<T>; label: string }) {
  if (list.page === 0 && !list.hasNext) return null;
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" class="secondary" onClick={list.prev} disabled={list.page === 0 || list.loading}>
        Previous
      </button>
      <span>Page {list.page + 1}</span>
      <button type="button" class="secondary" onClick={list.next} disabled={!list.hasNext || list.loading}>
        Next
      </button>
    </nav>
  );
}

export interface Column<T> {
  label: string;
  render: (row: T) => ComponentChildren;
  class?: string;
}

/** Table shows rows with a header; under 640 px each row stacks as a card labelled per cell. */
export function Table<T>(p: { caption: string; columns: Column<T>[]; rows: T[]; rowKey: (r: T) => string; empty: string; list?: Paged<T> }) {
  if (p.list?.error) return <Alert kind="error">{describe(p.list.error)}</Alert>;
  if (p.list?.loading && p.rows.length === 0) return <p class="muted" role="status">Loading…</p>;
  if (p.rows.length === 0) return <p class="muted">{p.empty}</p>;
  return (
    <table class="data">
      <caption class="visually-hidden">{p.caption}</caption>
      <thead>
        <tr>
          {p.columns.map((c) => (
            <th scope="col" key={c.label}>{c.label}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <tr key={p.rowKey(r)}>
            {p.columns.map((c) => (
              <td data-label={c.label} class={c.class} key={c.label}>{c.render(r)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
