/** Named errors. Each message says what was expected and what arrived. */

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;

export class ShapeError extends Error {
  override name = "ShapeError";
  constructor(op: string, detail: string, ...shapes: readonly (readonly number[])[]) {
    super(`${op}: ${detail}${shapes.length ? ` — got ${shapes.map(fmt).join(" and ")}` : ""}`);
  }
}

export class DTypeError extends Error {
  override name = "DTypeError";
  constructor(op: string, expected: string, got: string) {
    super(`${op}: expected dtype ${expected}, got ${got}`);
  }
}

export class WebGPUUnavailableError extends Error {
  override name = "WebGPUUnavailableError";
}

export class DeviceLostError extends Error {
  override name = "DeviceLostError";
  constructor(readonly reason: string, detail: string) {
    super(`the GPU device was lost (${reason}): ${detail || "no message"}. Call init() again to get a new device.`);
  }
}

export class ShaderCompileError extends Error {
  override name = "ShaderCompileError";
  constructor(readonly label: string, readonly source: string, readonly messages: readonly { message: string; lineNum: number; linePos: number; type: string }[]) {
    const lines = source.split("\n");
    const msgs = messages
      .map((m) => `  ${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}\n    ${lines[m.lineNum - 1] ?? ""}`)
      .join("\n");
    super(`WGSL for '${label}' failed to compile (a latent bug — please report it):\n${msgs}\n--- source ---\n${lines.map((l, i) => `${String(i + 1).padStart(4)}  ${l}`).join("\n")}`);
  }
}

export class DisposedError extends Error {
  override name = "DisposedError";
  constructor(what: string) {
    super(`${what} was used after dispose(); keep() it or return it from the scope that made it`);
  }
}

export class GPUValidationError extends Error {
  override name = "GPUValidationError";
}

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

export class NonFiniteError extends Error {
  override name = "NonFiniteError";
}

/** A data file or dataset request is malformed: bad IDX magic, truncated payload, wrong dims, unknown split. */
export class DataError extends Error {
  override name = "DataError";
}
