/** promtool from PROMTOOL_PATH, .tools/ (.ci/run puts Debian's there) or PATH; undefined when there is none. */
import { localTool } from './tools.ts';

const tool = localTool('promtool', 'PROMTOOL_PATH', '.ci/run installs Debian’s into .tools/');
export const promtool = tool.path;
export const needsPromtool = tool.needs;
