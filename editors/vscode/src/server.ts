// Finding the `slo` binary and its arguments from the settings. No `vscode`
// import here, so that test/server.test.js can run it under plain Node.

import * as fs from "fs";
import * as path from "path";

export interface Environment {
  /** The first workspace folder on disk, if any. */
  workspaceRoot?: string;
  home: string;
  /** PATH, split with the platform's delimiter. */
  pathDirs: string[];
  platform: NodeJS.Platform;
  /** Windows' PATHEXT, e.g. ".EXE;.CMD". */
  pathExt?: string;
}

export function currentEnvironment(workspaceRoot: string | undefined, home: string): Environment {
  return {
    workspaceRoot,
    home,
    pathDirs: (process.env.PATH || "").split(path.delimiter).filter(Boolean),
    platform: process.platform,
    pathExt: process.env.PATHEXT,
  };
}

/** Whether a setting names a path (has a separator) rather than a command to look up on PATH. */
export function isPathLike(setting: string): boolean {
  return /[\\/]/.test(setting) || setting === "~";
}

/**
 * Expands `${workspaceFolder}` and a leading `~`, and makes a relative path
 * with a separator (`./target/debug/slo`) absolute from the workspace folder.
 */
export function expand(setting: string, env: Environment): string {
  const p0 = setting.trim();
  let p = env.workspaceRoot ? p0.replace(/\$\{workspaceFolder\}/g, env.workspaceRoot) : p0;
  if (p === "~" || p.startsWith("~/") || p.startsWith("~\\")) {
    p = path.join(env.home, p.slice(1));
  }
  if (isPathLike(p) && !path.isAbsolute(p) && env.workspaceRoot) {
    p = path.join(env.workspaceRoot, p);
  }
  return p;
}

function isExecutableFile(p: string, platform: NodeJS.Platform): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    if (platform !== "win32") fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The executable file that the `slo.server.path` setting names, or undefined. */
export function resolveExecutable(setting: string, env: Environment): string | undefined {
  const p = expand(setting || "slo", env);
  const exts =
    env.platform === "win32" && path.extname(p) === ""
      ? ["", ...(env.pathExt || ".EXE;.CMD;.BAT;.COM").split(";").filter(Boolean)]
      : [""];
  if (isPathLike(p)) {
    return exts.map((e) => p + e).find((c) => isExecutableFile(c, env.platform));
  }
  for (const dir of env.pathDirs) {
    for (const e of exts) {
      const candidate = path.join(dir, p + e);
      if (isExecutableFile(candidate, env.platform)) return candidate;
    }
  }
  return undefined;
}

/** `lsp` and then the `slo.server.extraArgs` that are strings. */
export function serverArgs(extraArgs: unknown): string[] {
  const extra = Array.isArray(extraArgs) ? extraArgs.filter((a): a is string => typeof a === "string") : [];
  return ["lsp", ...extra];
}
