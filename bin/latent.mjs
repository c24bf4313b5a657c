#!/usr/bin/env node
// The `latent` command: runs the TypeScript CLI (cli/main.ts) through tsx's loader, in this
// process, so exit codes and Ctrl-C behave as for any command. tsx is a devDependency: this works
// from the repository (`npx latent ...` or `node bin/latent.mjs ...`).
import { tsImport } from "tsx/esm/api";

const { main } = await tsImport("../cli/main.ts", import.meta.url);
const code = await main(process.argv.slice(2), { handleSignals: true });
// Dawn's device keeps the event loop alive; the work is done, so leave explicitly.
process.exit(code);
