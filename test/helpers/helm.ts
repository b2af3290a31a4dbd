/** Helm from HELM_PATH, .tools/ (.ci/run builds it there from the Go module proxy) or PATH. */
import { localTool } from './tools.ts';

const tool = localTool('helm', 'HELM_PATH', '.ci/run builds it into .tools/');
export const helm = tool.path;
export const needsHelm = tool.needs;
