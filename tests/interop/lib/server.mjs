// Starts the real ai-console-server (AIC_TEST_SERVER) on 127.0.0.1, port 0,
// with a data folder of its own, and finds its address and token.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function startServer (args = []) {
  const binary = process.env.AIC_TEST_SERVER;
  if (!binary)
    throw new Error('AIC_TEST_SERVER is not set');
  const dataDir = mkdtempSync(join(tmpdir(), 'aic-interop-'));
  const proc = spawn(binary, ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, ...args],
                     { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', chunk => { stderr += chunk; });

  const url = await new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + stderr)), 20000);
    proc.stdout.on('data', chunk => {
      stdout += chunk;
      const match = /Listening on (\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    proc.on('exit', code => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr}`));
    });
  });

  let token = null;
  try {
    token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
  } catch {
    // --no-auth
  }

  return {
    proc,
    url,
    token,
    dataDir,
    stderr: () => stderr,
    async stop () {
      if (proc.exitCode === null) {
        const exited = new Promise(resolve => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
