import { useEffect, useState } from 'preact/hooks';

/**
 * What this server offers, read from its OpenAPI document: pages and buttons for features that
 * are not deployed yet say so instead of failing when used.
 */
interface OpenApiDoc {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown> };
}

let loading: Promise<OpenApiDoc | null> | null = null;

export function loadOpenApi(): Promise<OpenApiDoc | null> {
  loading ??= fetch('/openapi.json', { headers: { accept: 'application/json' } })
    .then((r) => (r.ok ? (r.json() as Promise<OpenApiDoc>) : null))
    .catch(() => null);
  return loading;
}

export interface Capabilities {
  ready: boolean;
  has(method: string, path: string): boolean;
  /** An enum from a component schema's property, e.g. the plans of `TenantUpdate.plan`. */
  enumOf(schema: string, property: string): string[];
}

function capabilitiesOf(doc: OpenApiDoc | null | undefined): Capabilities {
  return {
    ready: doc !== undefined,
    // Without the document (it failed to load) every action is offered; the API still decides.
    has: (method, path) => (doc ? Boolean(doc.paths[path]?.[method.toLowerCase()]) : doc === null),
    enumOf(schema, property) {
      const s = doc?.components?.schemas?.[schema] as
        | { properties?: Record<string, { enum?: string[] }> }
        | undefined;
      return s?.properties?.[property]?.enum ?? [];
    },
  };
}

export function useCapabilities(): Capabilities {
  const [doc, setDoc] = useState<OpenApiDoc | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    void loadOpenApi().then((d) => live && setDoc(d));
    return () => {
      live = false;
    };
  }, []);
  return capabilitiesOf(doc);
}
