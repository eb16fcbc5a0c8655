/** One server-sent event as a client sees it. */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Parses an SSE body (`event:`/`data:` lines, blank-line separated) strictly enough to catch framing bugs. */
export function parseSse(text: string): SseEvent[] {
  if (text !== '' && !text.endsWith('\n\n'))
    throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(text.slice(-40))}`);
  return text
    .split('\n\n')
    .filter((block) => block !== '')
    .map((block) => {
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
      }
      return { event, data: data.join('\n') };
    });
}

/** The `data` of every plain event, parsed, up to (not including) `[DONE]`. */
export function sseChunks(events: SseEvent[]): Record<string, unknown>[] {
  return events
    .filter((e) => e.event === undefined && e.data !== '[DONE]')
    .map((e) => JSON.parse(e.data) as Record<string, unknown>);
}
