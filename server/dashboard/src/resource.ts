// Loading data for a page: the latest result, the error to show, and a reload that live events can trigger
// (debounced, so a burst of events costs one request).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
  /** Reload at most once per `ms` however often it is called. */
  reloadSoon: (ms?: number) => void;
}

export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    load(controller.signal).then(
      (data) => !controller.signal.aborted && setState({ data, loading: false }),
      (error: Error) => !controller.signal.aborted && error.name !== 'AbortError' && setState((previous) => ({ data: previous.data, error, loading: false })),
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);

  useEffect(() => () => clearTimeout(timer.current), []);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  const reloadSoon = useCallback((ms = 500) => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      setGeneration((n) => n + 1);
    }, ms);
  }, []);
  return { data: state.data, error: state.error, loading: state.loading, reload, reloadSoon };
}
