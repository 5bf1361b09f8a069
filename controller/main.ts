#!/usr/bin/env node
/**
 * `sigil-controller`: parses the flags, starts the controller, stops it on SIGTERM/SIGINT. The one place
 * that turns an error into `error: …` on stderr and an exit code (1 for a failure, 2 for a bad flag).
 */
import { CommanderError } from 'commander';
import { errorMessage } from '../shared/errors.js';
import { startController } from './app.js';
import { controllerProgram } from './config.js';
import { createLogger } from './runtime/logger.js';

async function main(): Promise<void> {
  const program = controllerProgram(async (config) => {
    const log = createLogger({ level: config.logLevel, format: config.logFormat });
    const controller = await startController(config, log);
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
    });
    log.info('stopping');
    await controller.stop();
  }).exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  }
}

await main();
