/**
 * The page's end of the worker protocol: typed requests that resolve with the worker's answer, and
 * a listener for the events it pushes. Terminating the client ends the worker, which releases the
 * GPU device with it.
 */
import type { Api, Request, RequestName, Response, WorkerEvent } from "../worker/protocol.js";

/** An error the worker reported, with the worker-side error class name (e.g. "CheckpointError"). */
export class WorkerError extends Error {
  constructor(
    readonly workerName: string,
    message: string,
  ) {
    super(message);
    this.name = "WorkerError";
  }
}

/** Anything with the Worker messaging surface (a real Worker, or a fake one in component tests). */
export interface WorkerLike {
  postMessage(msg: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", fn: (e: MessageEvent) => void): void;
  addEventListener(type: "error", fn: (e: ErrorEvent) => void): void;
  terminate(): void;
}

export class WorkerClient {
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #terminated = false;

  constructor(
    readonly worker: WorkerLike,
    onEvent: (e: WorkerEvent) => void,
  ) {
    worker.addEventListener("message", (e: MessageEvent<Response>) => {
      const msg = e.data;
      if (msg.type === "event") return onEvent(msg.event);
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new WorkerError(msg.error.name, msg.error.message));
    });
    worker.addEventListener("error", (e: ErrorEvent) => {
      // A worker that fails to load (bad bundle, CSP) rejects everything still waiting.
      const err = new WorkerError("WorkerError", e.message || "The training worker failed to start.");
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    });
  }

  /** Sends a request; `transfer` hands over buffers instead of copying them. */
  call<K extends RequestName>(type: K, args: Api[K]["args"], transfer: Transferable[] = []): Promise<Api[K]["result"]> {
    if (this.#terminated) return Promise.reject(new WorkerError("WorkerError", "The worker was stopped."));
    const id = this.#next++;
    return new Promise<Api[K]["result"]>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, type, args } as Request, transfer);
    });
  }

  /** Ends the worker (and its GPU work) now; pending requests reject. */
  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.worker.terminate();
    const err = new WorkerError("WorkerError", "The worker was stopped.");
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

/** The demo's worker, bundled by Vite (module worker: it code-splits the model modules). */
export function spawnTrainWorker(): Worker {
  return new Worker(new URL("../worker/train-worker.ts", import.meta.url), { type: "module", name: "latent-trainer" });
}
