/**
 * `tsc -p` for a consumer project, through the compiler API so that only what matters here is
 * checked: the project's own files and koa-sockjs's declarations, as with `skipLibCheck: false`
 * (that is where TS2717 from two Koa augmentations shows), but not @types/node and the rest,
 * which take most of a full check and are not ours. Parsed declaration files are shared
 * between the projects of one test run.
 */
import ts from 'typescript';

const parsed = new Map<string, ts.SourceFile | undefined>();

function cachingHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
    if (!fileName.includes('/node_modules/')) return getSourceFile(fileName, languageVersionOrOptions, onError, shouldCreate);
    const key = `${fileName}\n${JSON.stringify(languageVersionOrOptions)}`;
    if (!parsed.has(key)) parsed.set(key, getSourceFile(fileName, languageVersionOrOptions, onError, shouldCreate));
    return parsed.get(key);
  };
  return host;
}

/** The diagnostics of the project at `tsconfigPath`, formatted like tsc's; '' when clean. */
export function typeCheck(tsconfigPath: string): string {
  const config = ts.getParsedCommandLineOfConfigFile(tsconfigPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (!config) throw new Error(`cannot read ${tsconfigPath}`);
  const host = cachingHost(config.options);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host });
  const checked = program
    .getSourceFiles()
    .filter((file) => !file.fileName.includes('/node_modules/') || file.fileName.includes('/node_modules/koa-sockjs/'));
  const diagnostics = [
    ...config.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
  ];
  return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (name) => name, getCurrentDirectory: () => host.getCurrentDirectory(), getNewLine: () => '\n' });
}
