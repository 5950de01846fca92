// SPDX-License-Identifier: GPL-3.0-or-later
// The reference: eventsource-parser (npm) on the same fixture, fed in the
// same chunk sizes. It takes strings. Mode "strings" decodes the file
// before timing (its best case); mode "bytes" decodes each chunk inside
// the timed loop, as a client reading a socket must, and as AicSseParser's
// numbers include. Prints "mbps events" like bench-sse-parser.
import { readFileSync } from 'node:fs';
import { createParser } from 'eventsource-parser';

const [file, chunkArg, roundsArg, mode = 'strings'] = process.argv.slice(2);
const bytes = readFileSync(file);
const chunk = Number(chunkArg);
const rounds = Number(roundsArg);
const decoder = new TextDecoder();
const pieces = [];
for (let pos = 0; pos < bytes.length; pos += chunk)
  pieces.push(bytes.subarray(pos, pos + chunk));
const strings = mode === 'strings' ? pieces.map((piece) => decoder.decode(piece, { stream: true })) : null;

let best = 0;
let events = 0;
for (let round = 0; round < rounds; round++) {
  let count = 0;
  const parser = createParser({ onEvent (event) { count += 1; } });
  const streaming = new TextDecoder();
  const start = process.hrtime.bigint();
  if (strings)
    for (const piece of strings)
      parser.feed(piece);
  else
    for (const piece of pieces)
      parser.feed(streaming.decode(piece, { stream: true }));
  const elapsed = Number(process.hrtime.bigint() - start) / 1000;  // µs
  best = Math.max(best, bytes.length / Math.max(elapsed, 1));
  events = count;
}
console.log(`${best.toFixed(1)} ${events}`);
