#!/usr/bin/env node
import '../dist/src/cli/bert-run.js';
