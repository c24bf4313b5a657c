/**
 * The training worker: owns the WebGPU device (Chrome exposes navigator.gpu in workers) and runs a
 * Session, so training never blocks the page. Requests are answered by id; progress and frames are
 * pushed as events. Big arrays are transferred, not copied.
 */
import type { Api, Request, RequestName, Response, WorkerEvent } from "./protocol.js";
import { sampleToy, toyNames } from "../../models/data/toy2d.js";
import { Session, type SessionHooks } from "./session.js";

const post = (msg: Response, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(msg, transfer);
const emit = (event: WorkerEvent, transfer: Transferable[] = []) => post({ type: "event", event }, transfer);

/** Every ArrayBuffer reachable in a result (one level of objects deep is enough for the protocol). */
function transferables(v: unknown, out: Transferable[] = [], depth = 0): Transferable[] {
  if (ArrayBuffer.isView(v)) {
    if (v.buffer instanceof ArrayBuffer && !out.includes(v.buffer)) out.push(v.buffer);
  } else if (v && typeof v === "object" && depth < 3) {
    for (const x of Object.values(v)) transferables(x, out, depth + 1);
  }
  return out;
}

const hooks: SessionHooks = {
  progress: (progress) => emit({ type: "progress", progress }),
  frame: (frame) => emit({ type: "frame", frame }, transferables(frame)),
  status: (message) => emit({ type: "status", message }),
  benchResult: (result) => emit({ type: "bench-result", result }),
};

let session: Promise<Session> | null = null;
const need = () => session ?? Promise.reject(new Error("The worker was not initialised."));

async function fetchData(base: string, name: string): Promise<Uint8Array> {
  const res = await fetch(new URL(name, base));
  if (!res.ok) throw new Error(`Could not load ${name} (${res.status} ${res.statusText}): the MNIST files are served with the demo under data/.`);
  return new Uint8Array(await res.arrayBuffer());
}

type Handler<K extends RequestName> = (args: Api[K]["args"]) => Promise<Api[K]["result"]> | Api[K]["result"];
const handlers: { [K in RequestName]: Handler<K> } = {
  init: async () => {
    session ??= Session.create(hooks);
    return (await session).adapter();
  },
  configure: async (a) => (await need()).configure(a, (name) => fetchData(a.dataUrl, name)),
  train: async (a) => (await need()).train(a.maxSteps),
  stop: async () => (await need()).stop(),
  sample: async (a) => (await need()).sample(a.n, a.seed),
  density: async (a) => (await need()).density(a.size, a.seed),
  score: async (a) => (await need()).score(a.pixels),
  latentGrid: async (a) => (await need()).latentGrid(a.size),
  interpolate: async (a) => (await need()).interpolate(a.a, a.b, a.steps),
  bench: async (a) => (await need()).bench(a.quick),
  save: async () => (await need()).save(),
  inspectCheckpoint: async (a) => (await need()).inspectCheckpoint(a.bytes),
  load: async (a) => (await need()).load(a.bytes),
  toyPreviews: (a) => Object.fromEntries(toyNames.map((name) => [name, sampleToy(name, a.n, 0)])),
};

self.addEventListener("message", async (e: MessageEvent<Request>) => {
  const req = e.data;
  try {
    const handler = handlers[req.type] as Handler<RequestName>;
    const result = await handler(req.args as never);
    post({ type: "result", id: req.id, ok: true, result }, transferables(result));
  } catch (err) {
    const error = err instanceof Error ? { name: err.name, message: err.message } : { name: "Error", message: String(err) };
    if (req.type === "init") session = null; // let the page retry
    post({ type: "result", id: req.id, ok: false, error });
  }
});
