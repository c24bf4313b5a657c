/**
 * The slice of pngjs (a maintained pure-JS PNG codec, no types of its own) that cli/png.ts uses:
 * the synchronous reader and writer. Declared here rather than pulling in @types/pngjs.
 */
declare module "pngjs" {
  export interface PngSyncOptions {
    /** 0 grey, 2 RGB, 4 grey + alpha, 6 RGBA (the output's colour type). */
    colorType?: 0 | 2 | 4 | 6;
    /** The input's colour type (default 6, RGBA). */
    inputColorType?: 0 | 2 | 4 | 6;
    inputHasAlpha?: boolean;
    deflateLevel?: number;
  }
  export class PNG {
    constructor(opts: { width: number; height: number } & PngSyncOptions);
    width: number;
    height: number;
    /** RGBA, 4 bytes per pixel, row-major. */
    data: Buffer;
    static sync: {
      read(buffer: Uint8Array, opts?: { checkCRC?: boolean }): PNG;
      write(png: PNG, opts?: PngSyncOptions): Buffer;
    };
  }
}
