/**
 * The real chat worker, plus a way to make it die like a crashed native library would: a prompt
 * containing `CRASH AT START` exits the thread on arrival, `CRASH AFTER 3` after its third delta.
 */
import { parentPort } from 'node:worker_threads';

const port = parentPort!;
const crashAfter = new Map<number, number>();
port.on('message', (message: { type: string; id: number; request?: { messages: { content: string }[] } }) => {
  if (message.type !== 'generate') return;
  const text = message.request?.messages.map((m) => m.content).join(' ') ?? '';
  if (text.includes('CRASH AT START')) process.exit(70);
  const after = /CRASH AFTER (\d+)/.exec(text);
  if (after) crashAfter.set(message.id, Number(after[1]));
});
const post = port.postMessage.bind(port);
port.postMessage = (message: { type: string; id: number }) => {
  post(message);
  const left = crashAfter.get(message.id);
  if (message.type === 'delta' && left !== undefined) {
    if (left <= 1) process.exit(70);
    crashAfter.set(message.id, left - 1);
  }
};

await import('../../local/runtime/models/chat-worker');
