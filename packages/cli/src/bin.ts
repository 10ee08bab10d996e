#!/usr/bin/env -S node --max-semi-space-size=1
import { main } from './program.js';

process.exitCode = await main(process.argv);
