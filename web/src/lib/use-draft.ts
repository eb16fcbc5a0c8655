import { useState } from 'preact/hooks';

/**
 * A form's editable copy of what the server last said. When `source` changes (a reload, a save,
 * another row picked), the draft starts again from it in the same render: the boxes never show the
 * old values for a frame after the new ones arrived, as syncing through an effect would.
 * `source` is compared by identity (`Object.is`), like an effect's dependency.
 */
export function useDraft<S, D>(source: S, init: (source: S) => D): [D, (draft: D) => void] {
  const [state, setState] = useState<{ of: S; draft: D } | null>(null);
  const draft = state && Object.is(state.of, source) ? state.draft : init(source);
  return [draft, (next: D) => setState({ of: source, draft: next })];
}
