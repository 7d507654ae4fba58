#!/usr/bin/env node
// The `nextoffer` command. The TypeScript sources are compiled to dist/ by `npm run build` (run on install).
const { main, exitWhenDone } = require('../dist/cli/main.js');

main(process.argv.slice(2)).then(exitWhenDone);
