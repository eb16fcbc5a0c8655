/**
 * `tsx bench/chat.ts [--requests 10] [--max-tokens 256] [--model chat@tiny-1] [--json]`: chat
 * throughput on this machine, on the tiny test model (or the real one, when installed), through the whole local stack (DynamoDB Local in memory, the runtime
 * process, the gateway over HTTP), and on the runtime alone for comparison.
 *
 * Reports output tokens per second for plain and streamed completions, time to the first streamed
 * token, and the aggregate rate of concurrent streams. Self-contained: starts and stops its stack.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DEFAULT_REAL_CHAT, HUB_CHAT_MODELS, ONNX_FILES } from '../local/models/chat-models';
import { modelsDir } from '../local/models/paths';
import { startLocalStack } from '../local/stack';
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';

export interface ChatBenchResult {
  model: string;
  maxTokens: number;
  requests: number;
  runtimeOnly: { tokensPerSecond: number; msPerToken: number };
  gateway: { tokensPerSecond: number; msPerToken: number; p50LatencyMs: number };
  streamed: { tokensPerSecond: number; p50FirstTokenMs: number };
  concurrentStreams: { streams: number; tokensPerSecond: number };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;

export async function runChatBench(
  opts: { requests?: number; maxTokens?: number; model?: string } = {},
): Promise<ChatBenchResult> {
  const requests = opts.requests ?? 10;
  const maxTokens = opts.maxTokens ?? 256;
  const model = opts.model ?? 'chat@tiny-1';
  const variant = model.split('@')[1] ?? 'tiny-1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stack = await startLocalStack(
    loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', LOG_LEVEL: 'silent' }),
    createLogger('silent'),
  );
  const headers = { authorization: `Bearer ${stack.demo.secret}`, 'content-type': 'application/json' };
  // Greedy decoding on the tiny model never ends early, so every request generates maxTokens.
  const request = (i: number, stream: boolean) =>
    JSON.stringify({
      model,
      messages: [{ role: 'user', content: `Benchmark request ${i}: tell me a long story.` }],
      max_tokens: maxTokens,
      temperature: 0,
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
    });

  async function plain(i: number): Promise<{ ms: number; tokens: number }> {
    const started = performance.now();
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: request(i, false),
    });
    const body = (await res.json()) as { usage: { completion_tokens: number } };
    if (res.status !== 200) throw new Error(`chat answered ${res.status}: ${JSON.stringify(body)}`);
    return { ms: performance.now() - started, tokens: body.usage.completion_tokens };
  }

  async function streamed(i: number): Promise<{ ms: number; firstMs: number; tokens: number }> {
    const started = performance.now();
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: request(i, true),
    });
    if (res.status !== 200 || !res.body) throw new Error(`chat stream answered ${res.status}`);
    let firstMs = -1;
    let text = '';
    const decoder = new TextDecoder();
    for await (const part of res.body) {
      text += decoder.decode(part, { stream: true });
      if (firstMs < 0 && text.includes('"content":"') && /"content":"[^"]/.test(text)) {
        firstMs = performance.now() - started;
      }
    }
    const usage = /"completion_tokens":(\d+)/.exec(text);
    if (!text.endsWith('data: [DONE]\n\n') || !usage)
      throw new Error('stream ended without usage and [DONE]');
    return { ms: performance.now() - started, firstMs, tokens: Number(usage[1]) };
  }

  try {
    const sm = new SageMakerRuntimeClient({
      endpoint: stack.runtimeUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const direct = async (i: number) => {
      const started = performance.now();
      const out = await sm.send(
        new InvokeEndpointCommand({
          EndpointName: `tollgate-${stack.config.STAGE}-chat`,
          TargetVariant: variant,
          ContentType: 'application/json',
          Body: JSON.stringify({
            messages: [{ role: 'user', content: `Benchmark request ${i}: tell me a long story.` }],
            max_tokens: maxTokens,
            temperature: 0,
          }),
        }),
      );
      const answer = JSON.parse(new TextDecoder().decode(out.Body)) as { usage: { output_tokens: number } };
      return { ms: performance.now() - started, tokens: answer.usage.output_tokens };
    };

    // Warm up every path (worker JIT, sockets, table pages) before measuring.
    for (let i = 0; i < 3; i++) await Promise.all([direct(i), plain(i), streamed(i)]);

    const directRuns = [];
    for (let i = 0; i < requests; i++) directRuns.push(await direct(i));
    const plainRuns = [];
    for (let i = 0; i < requests; i++) plainRuns.push(await plain(i));
    const streamRuns = [];
    for (let i = 0; i < requests; i++) streamRuns.push(await streamed(i));
    const concurrency = 4;
    const concurrentStarted = performance.now();
    const concurrent = await Promise.all(Array.from({ length: concurrency }, (_, i) => streamed(100 + i)));
    const concurrentMs = performance.now() - concurrentStarted;
    sm.destroy();

    const rate = (runs: { ms: number; tokens: number }[]) => {
      const tokens = runs.reduce((s, r) => s + r.tokens, 0);
      const ms = runs.reduce((s, r) => s + r.ms, 0);
      return { tokensPerSecond: round((tokens / ms) * 1000), msPerToken: round(ms / tokens, 3) };
    };
    return {
      model,
      maxTokens,
      requests,
      runtimeOnly: rate(directRuns),
      gateway: {
        ...rate(plainRuns),
        p50LatencyMs: round(
          percentile(
            plainRuns.map((r) => r.ms),
            50,
          ),
        ),
      },
      streamed: {
        tokensPerSecond: rate(streamRuns).tokensPerSecond,
        p50FirstTokenMs: round(
          percentile(
            streamRuns.map((r) => r.firstMs),
            50,
          ),
          2,
        ),
      },
      concurrentStreams: {
        streams: concurrency,
        tokensPerSecond: round((concurrent.reduce((s, r) => s + r.tokens, 0) / concurrentMs) * 1000),
      },
    };
  } finally {
    await stack.stop();
  }
}

/** Whether the real chat model's weights are in the models folder (then the bench measures it too). */
export function realChatInstalled(): boolean {
  const m = HUB_CHAT_MODELS[DEFAULT_REAL_CHAT]!;
  return existsSync(join(modelsDir(), m.hubId, 'onnx', ONNX_FILES[m.dtype]!));
}

/** The chat rows of `npm run bench`, as Markdown: the tiny test model, and the real one where installed. */
export async function benchChat(opts: { quick: boolean }): Promise<string> {
  const tables = [await chatTable(await runChatBench({ requests: opts.quick ? 4 : 10, maxTokens: 256 }))];
  if (realChatInstalled()) {
    tables.push(
      await chatTable(
        await runChatBench({ requests: opts.quick ? 2 : 4, maxTokens: 64, model: DEFAULT_REAL_CHAT }),
      ),
    );
  } else {
    tables.push(`(${DEFAULT_REAL_CHAT} is not installed here, so its tokens/s are not measured.)\n`);
  }
  return tables.join('\n');
}

async function chatTable(r: ChatBenchResult): Promise<string> {
  const what =
    r.model === 'chat@tiny-1' ? 'the tiny test model' : 'the real model, may stop before max tokens';
  return [
    `### Chat (${r.model}, ${what}: ${r.requests} requests x ${r.maxTokens} tokens, greedy)`,
    '',
    '| path | output tokens/s | note |',
    '|---|---:|---|',
    `| runtime alone (SDK InvokeEndpoint) | ${r.runtimeOnly.tokensPerSecond} | ${r.runtimeOnly.msPerToken} ms/token |`,
    `| gateway, plain | ${r.gateway.tokensPerSecond} | p50 ${r.gateway.p50LatencyMs} ms per request |`,
    `| gateway, streamed (SSE) | ${r.streamed.tokensPerSecond} | p50 first token ${r.streamed.p50FirstTokenMs} ms |`,
    `| ${r.concurrentStreams.streams} concurrent streams | ${r.concurrentStreams.tokensPerSecond} | in total |`,
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(
      'usage: npx tsx bench/chat.ts [--requests N] [--max-tokens N] [--model chat@tiny-1] [--json]\n' +
        '  Chat throughput on a chat version (default the tiny test model; chat@smollm2-360m once\n' +
        '  installed) through the whole local stack, and on the runtime\n' +
        '  alone; --json prints the result as JSON. (Also part of npm run bench.)',
    );
    process.exit(0);
  }
  const flag = (name: string) => {
    const at = args.indexOf(name);
    return at === -1 ? undefined : Number(args[at + 1]);
  };
  const modelAt = args.indexOf('--model');
  const result = await runChatBench({
    requests: flag('--requests'),
    maxTokens: flag('--max-tokens'),
    ...(modelAt === -1 ? {} : { model: args[modelAt + 1] }),
  });
  if (args.includes('--json')) {
    console.log(JSON.stringify(result));
  } else {
    console.log(
      `chat bench: ${result.model}, ${result.requests} requests x ${result.maxTokens} tokens, greedy`,
    );
    console.log(
      `  runtime alone (SDK InvokeEndpoint)  ${result.runtimeOnly.tokensPerSecond} tok/s  (${result.runtimeOnly.msPerToken} ms/token)`,
    );
    console.log(
      `  gateway, plain                      ${result.gateway.tokensPerSecond} tok/s  (p50 ${result.gateway.p50LatencyMs} ms/request)`,
    );
    console.log(
      `  gateway, streamed (SSE)             ${result.streamed.tokensPerSecond} tok/s  (p50 first token ${result.streamed.p50FirstTokenMs} ms)`,
    );
    console.log(
      `  ${result.concurrentStreams.streams} concurrent streams              ${result.concurrentStreams.tokensPerSecond} tok/s in total`,
    );
  }
  process.exit(0);
}
