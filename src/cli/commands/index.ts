// Every bert-run subcommand, in the order `bert-run --help` lists them.
import type { Command } from '../command.js';
import { deviceCommand } from './device.js';
import { tokenizeCommand } from './tokenize.js';
import { checkCommand } from './check.js';
import { trainCommand } from './train.js';
import { planCommand } from './plan.js';
import { fillMaskCommand } from './fill-mask.js';
import { embedCommand } from './embed.js';
import { forwardCommand } from './forward.js';
import { classifyCommand } from './classify.js';
import { prepareCommand } from './prepare.js';
import { reportCommand } from './report.js';

export const commands: readonly Command[] = [trainCommand, prepareCommand, checkCommand, planCommand, deviceCommand, tokenizeCommand, fillMaskCommand, embedCommand, forwardCommand, classifyCommand, reportCommand];
