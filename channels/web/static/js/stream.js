// Following a run: Server-Sent Events parsed from a fetch body, reconnecting after a dropped
// connection (a server restart, a network blip) from the last event seen.
import { ApiError } from "./api.js";
import { sleep } from "./dom.js";

export const CLOSING = new Set(["RunCompleted", "RunCancelled", "RunFailed"]);
const MAX_RETRIES = 60; // about five minutes of a server that does not answer
const MAX_DELAY_MS = 5000;

function parseBlock(block) {
  const message = { id: null, event: "message", data: [] };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue; // a comment: keepalive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") message.data.push(value);
    else if (field === "event") message.event = value;
    else if (field === "id") message.id = value;
  }
  return message.data.length ? { ...message, data: message.data.join("\n") } : null;
}

export async function* sseMessages(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = (buffer + value).replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const message = parseBlock(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (message) yield message;
    }
  }
}

// Calls onEvent for every event after `after` until the run closes, and onDelta for the model's
// text as it is generated ({step, offset, text}: transient, without an id, so `last` stays the
// last durable seq). Returns "closed", "aborted" or "gave_up"; onTrouble hears about connection
// problems as they happen.
export async function follow(api, run, { after = 0, onEvent, onDelta = () => {}, onTrouble = () => {}, signal }) {
  let last = after;
  for (let attempt = 0; attempt <= MAX_RETRIES; attempt += 1) {
    if (signal?.aborted) return "aborted";
    try {
      const response = await api.stream(run.links.events, last, signal);
      if (attempt > 0) onTrouble(null);
      for await (const message of sseMessages(response.body)) {
        if (message.event === "error") {
          const error = JSON.parse(message.data).error;
          throw new ApiError(0, error.code, error.message);
        }
        if (message.event === "delta") {
          onDelta(JSON.parse(message.data));
          continue;
        }
        const event = JSON.parse(message.data);
        last = event.seq;
        attempt = 0;
        onEvent(event);
        if (CLOSING.has(event.type)) return "closed";
      }
    } catch (error) {
      if (signal?.aborted) return "aborted";
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        onTrouble(error.message, true);
        return "gave_up";
      }
      onTrouble(`connection lost (${error.message}); reconnecting…`);
    }
    // The stream ended without closing the run: the server went away. Come back for the rest.
    await sleep(Math.min(500 * (attempt + 1), MAX_DELAY_MS), signal);
  }
  onTrouble("the server does not answer; reload the page to try again", true);
  return "gave_up";
}
