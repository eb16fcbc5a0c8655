import { ApiFailure, call, get, query } from './api';
import { daysBetween } from './format';
import type { UsageAnswer, UsageRow } from './types';

export type UsageSource = 'account' | 'key';

export interface LoadedUsage {
  answer: UsageAnswer;
  source: UsageSource;
}

/** The code of the failure `loadUsage` gives when only a key could read usage and none is held. */
export const NEEDS_KEY = 'needs_api_key';

/**
 * Usage for the signed-in tenant: GET /account/usage with the session when the server has it;
 * otherwise GET /v1/usage with the API key this tab holds (the same ledger, read as a client).
 */
export async function loadUsage(
  range: { start: string; end: string },
  apiKey: string | null,
  signal?: AbortSignal,
): Promise<LoadedUsage> {
  const q = query({ start_date: range.start, end_date: range.end });
  try {
    return { answer: await get<UsageAnswer>(`/account/usage${q}`, { signal }), source: 'account' };
  } catch (err) {
    // Not on this server yet, or not for this role (it takes billing:read): a key can still read it.
    if (!(err instanceof ApiFailure && (err.routeMissing || err.status === 403) && apiKey)) throw err;
  }
  if (!apiKey) {
    throw new ApiFailure(0, {
      message: 'GET /account/usage is not available yet and this tab holds no API key to read GET /v1/usage.',
      type: 'client_error',
      code: NEEDS_KEY,
      param: null,
    });
  }
  return { answer: await get<UsageAnswer>(`/v1/usage${q}`, { auth: { apiKey }, signal }), source: 'key' };
}

export interface DailySeries {
  days: string[];
  requests: number[];
  inputTokens: number[];
  outputTokens: number[];
  images: number[];
  cost: number[];
}

/** Rows (per day x version x key x channel) summed per day, with a zero for days without usage. */
export function perDay(rows: UsageRow[], start: string, end: string): DailySeries {
  const days = daysBetween(start, end);
  const index = new Map(days.map((d, i) => [d, i]));
  const zero = () => days.map(() => 0);
  const out: DailySeries = {
    days,
    requests: zero(),
    inputTokens: zero(),
    outputTokens: zero(),
    images: zero(),
    cost: zero(),
  };
  for (const r of rows) {
    const i = index.get(r.date);
    if (i === undefined) continue;
    out.requests[i]! += r.requests;
    out.inputTokens[i]! += r.input_tokens;
    out.outputTokens[i]! += r.output_tokens;
    out.images[i]! += r.images;
    out.cost[i]! += Number(r.cost_usd);
  }
  return out;
}

/**
 * The usage report as the server writes it (`?format=csv`: RFC 4180, the same columns as the
 * JSON), filtered by model version and key, read the way `loadUsage` read the JSON.
 */
export async function usageCsv(
  range: { start: string; end: string },
  filter: { model?: string; keyId?: string; projectId?: string; channel?: 'online' | 'batch' },
  source: UsageSource,
  apiKey: string | null,
): Promise<{ name: string; text: string }> {
  const q = query({
    start_date: range.start,
    end_date: range.end,
    model: filter.model,
    key_id: filter.keyId,
    project_id: filter.projectId,
    channel: filter.channel,
    format: 'csv',
  });
  const res =
    source === 'key' && apiKey
      ? await call('GET', `/v1/usage${q}`, { auth: { apiKey }, headers: { accept: 'text/csv' } })
      : await call('GET', `/account/usage${q}`, { headers: { accept: 'text/csv' } });
  const named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
  return { name: named ?? `usage-${range.start}-${range.end}.csv`, text: await res.text() };
}

export function download(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** What usage rows add up to (cost in USD, as a number for display). */
export interface UsageTotals {
  requests: number;
  input: number;
  output: number;
  images: number;
  cost: number;
}

/** Sums rows (or an answer's `totals`, which has the same fields). */
export function sumUsage(
  rows: Omit<UsageRow, 'date' | 'model' | 'version' | 'key_id' | 'key_name' | 'channel' | 'project_id'>[],
): UsageTotals {
  const t: UsageTotals = { requests: 0, input: 0, output: 0, images: 0, cost: 0 };
  for (const r of rows) {
    t.requests += r.requests;
    t.input += r.input_tokens;
    t.output += r.output_tokens;
    t.images += r.images;
    t.cost += Number(r.cost_usd);
  }
  return t;
}
