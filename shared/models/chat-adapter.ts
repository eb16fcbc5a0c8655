import type { ChatWire } from '../catalog/chat-wire';
import type { ChatAdapter } from './chat-contract';
import { jsonLines } from './json-lines';
import { tgiMessagesAdapter } from './tgi-chat';

/** The project's model server: its contract is the platform's, so nothing is translated. */
const modelServerAdapter: ChatAdapter = {
  request: (request) => request,
  answer: (raw) => raw,
  lines: (stream) => jsonLines(stream),
};

/** The adapter of a wire (`chatWireOf` says which wire a version speaks). */
export function chatAdapterFor(wire: ChatWire): ChatAdapter {
  return wire === 'tgi-messages' ? tgiMessagesAdapter : modelServerAdapter;
}
