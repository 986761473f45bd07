import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The package's directory: a checkout of the repository, or the package installed in node_modules. */
export const root = path.resolve(__dirname, '..', '..');
/** Whether this is a checkout (the bench sources beside the build), not an installed package. */
export const checkout = fs.existsSync(path.join(root, 'bench', 'run.ts'));

/** Where and when a benchmark ran: printed with every table. */
export interface Environment {
  node: string;
  cpu: string;
  cores: number;
  os: string;
  commit: string;
  date: string;
  command: string;
  /** How the bench processes were pinned to CPUs ('no': not pinned); absent where that does not apply. */
  pinned?: string;
}

export function environment(command: string): Environment {
  let commit = 'unknown';
  // The commit of this package's own checkout: an installed package (in node_modules, perhaps of
  // some other repository) has none.
  if (checkout) {
    try {
      const git = (args: string): string => execSync(`git ${args}`, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
      commit = git('rev-parse --short HEAD');
      if (git('status --porcelain -- src bench')) commit += '+changes';
    } catch {
      // Not a git checkout: the commit stays unknown.
    }
  }
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    os: `${os.platform()} ${os.release()}`,
    commit,
    date: new Date().toISOString(),
    command,
  };
}

export function environmentLine(env: Environment): string {
  return `Node ${env.node}, ${env.cpu} (${env.cores} cores), ${env.os}; commit ${env.commit}; ${env.date.slice(0, 16).replace('T', ' ')} UTC${env.pinned === undefined ? '' : `; pinned to CPUs: ${env.pinned}`}; \`${env.command}\``;
}

/** The first lines of a section of the report: its title, then the run's environment. */
export function sectionHead(title: string, result: { environment: Environment; quick: boolean }): string[] {
  return [title, '', environmentLine(result.environment) + (result.quick ? ' (quick run: short, noisy figures)' : ''), ''];
}
