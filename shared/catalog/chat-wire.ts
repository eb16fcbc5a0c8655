import { modelDeployments } from './deployment';

/**
 * The request, answer and stream format a chat version's container speaks on `/invocations`:
 * - `model-server`: the project's own model server (`{messages, max_tokens, ...}` in,
 *   `{text, finish_reason, usage}` out, a stream of JSON lines each carrying the usage so far);
 * - `tgi-messages`: Hugging Face TGI's Messages API (MESSAGES_API_ENABLED), OpenAI's chat format:
 *   a `chat.completion` out, a stream of server-sent `chat.completion.chunk`s, one per token, the
 *   usage only at the end (`shared/models/tgi-chat.ts`).
 */
export type ChatWire = 'tgi-messages' | 'model-server';

/**
 * The wire of `model@version`, from the container that serves it in AWS
 * (`modelDeployments[version].image.kind`): TGI speaks its Messages API, everything else is the
 * model server. `tgiVersions` (the `LLM_WIRE_VERSIONS` setting) adds versions that speak TGI's
 * format although the table says otherwise: the local runtime and the gateway both read it, so the
 * offline test model can run over the TGI wire end to end. Pure and cheap: one object lookup.
 */
export function chatWireOf(version: string, tgiVersions?: ReadonlySet<string>): ChatWire {
  if (tgiVersions?.has(version)) return 'tgi-messages';
  return modelDeployments[version]?.image.kind === 'hf-tgi' ? 'tgi-messages' : 'model-server';
}

/** `LLM_WIRE_VERSIONS`: `model@version` ids, comma-separated; empty or unset is none. */
export function parseWireVersions(value: string | undefined): ReadonlySet<string> {
  const versions = new Set<string>();
  for (const raw of (value ?? '').split(',')) {
    const id = raw.trim();
    if (id === '') continue;
    if (!/^[a-z0-9][a-z0-9-]*@[A-Za-z0-9][A-Za-z0-9.-]*$/.test(id)) {
      throw new Error(`LLM_WIRE_VERSIONS: '${id}' is not a model@version id`);
    }
    versions.add(id);
  }
  return versions;
}
