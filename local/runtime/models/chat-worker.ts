/**
 * The chat model's worker thread: loads a local transformers.js text-generation model and runs
 * generations for the runtime, so tokenising, sampling and decoding never block the runtime's
 * event loop (and a crash here takes down this thread, not the runtime). Several generations may
 * run at once: each awaits the ONNX session per token, and they interleave.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  BaseStreamer,
  env,
  type PreTrainedTokenizer,
  pipeline,
  StoppingCriteria,
  type TextGenerationPipeline,
} from '@huggingface/transformers';
import type {
  ChatRequest,
  ChatUsage,
  FinishReason,
  FromWorker,
  ToWorker,
  WorkerConfig,
} from './chat-protocol';

const config = workerData as WorkerConfig;
const port = parentPort;
if (!port) throw new Error('chat-worker must run in a worker thread');
const send = (message: FromWorker) => port.postMessage(message);

class InputError extends Error {}

/** One generation in flight. */
class Job {
  stopped = false;
  finish: FinishReason = 'length';
  readonly ids: number[] = [];
  text = '';
  sent = 0;
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(
    readonly id: number,
    readonly request: ChatRequest,
    readonly stream: boolean,
    readonly inputTokens: number,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly eos: Set<number>,
  ) {}

  usage(): ChatUsage {
    return { input_tokens: this.inputTokens, output_tokens: this.ids.length };
  }

  /** One generated token: decode what is now complete, cut at a stop sequence, emit what is safe. */
  push(token: number): void {
    if (this.stopped) return;
    this.ids.push(token);
    if (this.eos.has(token)) {
      this.finish = 'stop';
      return;
    }
    // Byte-level tokens can end inside a UTF-8 character: decode a window and wait for completion.
    const decode = (ids: number[]) =>
      ids.length === 0 ? '' : this.tokenizer.decode(ids, { skip_special_tokens: true });
    const before = decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const now = decode(this.ids.slice(this.prefixOffset));
    if (now.length <= before.length || now.endsWith('\uFFFD')) return;
    this.text += now.slice(before.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    this.release(false);
  }

  /** Emits text up to a stop sequence, holding back a tail that could still become one. */
  release(final: boolean): void {
    const stops = this.request.stop;
    let end = this.text.length;
    if (stops.length > 0) {
      const longest = Math.max(...stops.map((s) => s.length));
      const from = Math.max(0, this.sent - longest + 1);
      let cut = -1;
      for (const stop of stops) {
        const at = this.text.indexOf(stop, from);
        if (at !== -1 && (cut === -1 || at < cut)) cut = at;
      }
      if (cut !== -1) {
        this.text = this.text.slice(0, cut);
        end = cut;
        this.finish = 'stop';
        this.stopped = true;
      } else if (!final) {
        for (let keep = Math.min(longest - 1, this.text.length); keep > 0; keep--) {
          const tail = this.text.slice(this.text.length - keep);
          if (stops.some((s) => s.startsWith(tail))) {
            end = this.text.length - keep;
            break;
          }
        }
      }
    }
    if (end > this.sent) {
      const delta = this.text.slice(this.sent, end);
      this.sent = end;
      if (this.stream) send({ type: 'delta', id: this.id, delta, usage: this.usage() });
    }
  }
}

/** Feeds generated tokens to their job (the first call carries the prompt, which is skipped). */
class JobStreamer extends BaseStreamer {
  private promptSeen = false;
  constructor(private readonly job: Job) {
    super();
  }
  override put(value: bigint[][]): void {
    if (!this.promptSeen) {
      this.promptSeen = true;
      return;
    }
    for (const token of value[0] ?? []) this.job.push(Number(token));
  }
  override end(): void {}
}

/** Stops a generation that hit a stop sequence or whose caller went away. */
class JobStop extends StoppingCriteria {
  constructor(private readonly job: Job) {
    super();
  }
  override _call(inputIds: number[][]): boolean[] {
    return inputIds.map(() => this.job.stopped);
  }
}

const jobs = new Map<number, Job>();
let generator: TextGenerationPipeline;
let contextLength = 2048;
let eos = new Set<number>();

async function load(): Promise<void> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = config.modelsRoot.endsWith('/') ? config.modelsRoot : `${config.modelsRoot}/`;
  generator = (await pipeline('text-generation', config.modelId, {
    dtype: config.dtype as 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: config.threads, interOpNumThreads: 1 },
  })) as TextGenerationPipeline;
  const modelConfig = generator.model.config as unknown as Record<string, unknown>;
  const positions = modelConfig.max_position_embeddings ?? modelConfig.n_positions;
  if (typeof positions === 'number') contextLength = positions;
  const genEos = (generator.model as unknown as { generation_config?: { eos_token_id?: unknown } })
    .generation_config?.eos_token_id;
  const ids = [genEos, modelConfig.eos_token_id, generator.tokenizer.eos_token_id].flat();
  eos = new Set(ids.filter((id): id is number => typeof id === 'number'));
}

async function generate(id: number, request: ChatRequest, stream: boolean): Promise<void> {
  const tokenizer = generator.tokenizer;
  const inputs = tokenizer.apply_chat_template(request.messages, {
    add_generation_prompt: true,
    return_dict: true,
  }) as unknown as { input_ids: { dims: number[] }; attention_mask: unknown };
  const inputTokens = inputs.input_ids.dims.at(-1) ?? 0;
  if (request.max_input_tokens !== undefined && inputTokens > request.max_input_tokens) {
    throw new InputError(
      `The prompt is ${inputTokens} tokens after the chat template; this version accepts at most ${request.max_input_tokens}.`,
    );
  }
  if (inputTokens >= contextLength) {
    throw new InputError(`The prompt is ${inputTokens} tokens; the model's context is ${contextLength}.`);
  }
  const maxNew = Math.min(request.max_tokens, contextLength - inputTokens);
  const job = new Job(id, request, stream, inputTokens, tokenizer, eos);
  jobs.set(id, job);
  try {
    const sample = request.temperature > 0;
    await generator.model.generate({
      ...(inputs as object),
      max_new_tokens: maxNew,
      do_sample: sample,
      ...(sample ? { temperature: request.temperature, top_p: request.top_p, top_k: 0 } : {}),
      streamer: new JobStreamer(job),
      stopping_criteria: [new JobStop(job)],
    } as unknown as Parameters<typeof generator.model.generate>[0]);
    job.release(true);
    send({ type: 'done', id, finish_reason: job.finish, text: job.text, usage: job.usage() });
  } finally {
    jobs.delete(id);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') {
    const job = jobs.get(message.id);
    if (job) job.stopped = true;
    return;
  }
  generate(message.id, message.request, message.stream).catch((error: unknown) => {
    send({
      type: 'failed',
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
      input: error instanceof InputError,
    });
  });
});

load().then(
  () => send({ type: 'ready', contextLength }),
  (error: unknown) =>
    send({ type: 'load_failed', message: error instanceof Error ? error.message : String(error) }),
);
