// Confirmation before a destructive action, in the browser's own modal <dialog> (focus kept
// inside, Escape cancels).
import { useRef, useState } from 'preact/hooks';

interface Ask {
  title: string;
  body: string;
  action: string;
  resolve: (ok: boolean) => void;
}

/** useConfirm returns the dialog to render and ask(), which resolves true when confirmed. */
export function useConfirm() {
  const ref = useRef<HTMLDialogElement>(null);
  const [ask, setAsk] = useState<Ask | null>(null);
  const open = (title: string, body: string, action: string) =>
    new Promise<boolean>((resolve) => {
      setAsk({ title, body, action, resolve });
      queueMicrotask(() => ref.current?.showModal());
    });
  const close = (ok: boolean) => {
    ref.current?.close();
    ask?.resolve(ok);
    setAsk(null);
  };
  const dialog = (
    <dialog ref={ref} aria-labelledby="confirm-title" aria-describedby="confirm-body" onCancel={(e) => { e.preventDefault(); close(false); }}>
      {ask ? (
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); close(true); }}>
          <h2 id="confirm-title">{ask.title}</h2>
          <p id="confirm-body">{ask.body}</p>
          <div class="actions">
            <button type="button" class="secondary" onClick={() => close(false)} autofocus>Cancel</button>
            <button type="submit" class="danger">{ask.action}</button>
          </div>
        </form>
      ) : null}
    </dialog>
  );
  return { dialog, confirm: open };
}
