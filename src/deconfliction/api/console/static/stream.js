// The party's event stream (docs/events.md). EventSource cannot send the Authorization
// header, so the stream is read with fetch; after a dropped connection it reconnects with
// Last-Event-ID = the last event handled, so nothing is lost or handled twice.
import { headers } from "./api.js";

export function openStream(after, onEvent, onState) {
  let last = after;
  let stopped = false;
  let controller = null;
  let retryMs = 1000;

  async function once() {
    controller = new AbortController();
    const r = await fetch("/v1/events/stream", {
      headers: headers({ Accept: "text/event-stream", "Last-Event-ID": String(last) }),
      signal: controller.signal,
      cache: "no-store",
    });
    if (!r.ok || !r.body) throw new Error(`stream: HTTP ${r.status}`);
    onState("live");
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = { id: null, kind: null, data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        if (line === "") {
          if (event.data.length) {
            const data = JSON.parse(event.data.join("\n"));
            if (data.seq > last) {
              last = data.seq;
              onEvent(data);
            }
          }
          event = { id: null, kind: null, data: [] };
        } else if (line.startsWith(":")) {
          continue; // comment or keep-alive
        } else {
          const colon = line.indexOf(":");
          const name = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (name === "data") event.data.push(val);
          else if (name === "event") event.kind = val;
          else if (name === "id") event.id = val;
          else if (name === "retry" && /^\d+$/.test(val)) retryMs = Number(val);
        }
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (err) {
        if (stopped) return;
      }
      if (stopped) return;
      onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  })();

  return {
    close() {
      stopped = true;
      controller?.abort();
      onState("off");
    },
    lastSeq: () => last,
  };
}
