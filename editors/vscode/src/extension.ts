// The VS Code client of `slo lsp`: starts the server for .slo files, restarts
// it on `SLO: Restart Language Server` and when its settings change, and says
// plainly when the `slo` binary cannot be found or started.

import * as os from "os";
import * as vscode from "vscode";
import { Executable, LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";
import { Environment, currentEnvironment, expand, isPathLike, resolveExecutable, serverArgs } from "./server";

const CLIENT_ID = "slo";
const CLIENT_NAME = "SLO Language Server";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;
/** Serializes start/stop so that quick setting changes cannot start two servers. */
let pending: Promise<void> = Promise.resolve();

export function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel(CLIENT_NAME);
  context.subscriptions.push(output);
  context.subscriptions.push(
    vscode.commands.registerCommand("slo.restartServer", () => queue(() => restart(true))),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("slo.server")) {
        void queue(() => restart(false));
      }
    }),
    // Trust granted later: the workspace's own server settings now apply.
    vscode.workspace.onDidGrantWorkspaceTrust(() => queue(() => restart(false))),
  );
  return queue(start);
}

export function deactivate(): Promise<void> {
  return queue(stop);
}

function queue(step: () => Promise<void>): Promise<void> {
  pending = pending.then(step, step);
  return pending;
}

interface ServerCommand {
  /** What the user wrote in `slo.server.path`. */
  setting: string;
  /** The file to run, or undefined when it was not found. */
  resolved: string | undefined;
  args: string[];
  env: Environment;
}

function serverCommand(): ServerCommand {
  const config = vscode.workspace.getConfiguration("slo.server");
  const setting = (config.get<string>("path") || "slo").trim() || "slo";
  const env = currentEnvironment(workspaceRoot(), os.homedir());
  return { setting, resolved: resolveExecutable(setting, env), args: serverArgs(config.get("extraArgs")), env };
}

/** The first workspace folder on disk, for relative paths and `${workspaceFolder}`. */
function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file")?.uri.fsPath;
}

async function start(): Promise<void> {
  const cmd = serverCommand();
  if (!cmd.resolved) {
    log(`cannot find the slo binary "${cmd.setting}" (slo.server.path); PATH=${process.env.PATH ?? ""}`);
    void reportMissing(cmd);
    return;
  }
  log(`starting ${cmd.resolved} ${cmd.args.join(" ")}`);
  const root = cmd.env.workspaceRoot;
  const executable: Executable = {
    command: cmd.resolved,
    args: cmd.args,
    options: root ? { cwd: root } : undefined,
  };
  const serverOptions: ServerOptions = { run: executable, debug: executable };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "slo" },
      { scheme: "untitled", language: "slo" },
    ],
    outputChannel: output,
    // The server registers its own watcher for **/*.slo (didChangeWatchedFiles).
  };
  const c = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  client = c;
  try {
    await c.start();
  } catch (e) {
    client = undefined;
    const message = e instanceof Error ? e.message : String(e);
    log(`slo lsp failed to start: ${message}`);
    void vscode.window
      .showErrorMessage(
        `SLO: \`${cmd.resolved} ${cmd.args.join(" ")}\` failed to start: ${message}`,
        "Show Output",
        "Open Settings",
      )
      .then(onAction);
    try {
      await c.dispose();
    } catch {
      // Already stopped.
    }
  }
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) {
    try {
      await c.stop();
    } catch (e) {
      log(`stopping slo lsp: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

async function restart(announce: boolean): Promise<void> {
  await stop();
  await start();
  if (announce && client) {
    vscode.window.setStatusBarMessage("SLO: language server restarted", 3000);
  }
}

async function reportMissing(cmd: ServerCommand): Promise<void> {
  const setting = cmd.setting;
  const where = isPathLike(setting) ? `at \`${expand(setting, cmd.env)}\`` : "on PATH";
  const choice = await vscode.window.showErrorMessage(
    `SLO: the language server binary \`${setting}\` was not found ${where}. ` +
      "Install it with `cargo install --path .` in the slo repository, or set `slo.server.path` to the binary.",
    "Open Settings",
    "Show Output",
  );
  onAction(choice);
}

function onAction(choice: string | undefined): void {
  if (choice === "Open Settings") {
    void vscode.commands.executeCommand("workbench.action.openSettings", "slo.server");
  } else if (choice === "Show Output") {
    output?.show(true);
  }
}

function log(line: string): void {
  output?.appendLine(`[${new Date().toISOString()}] ${line}`);
}
