// The data dir given by the caller must be a directory, or not exist yet (it is created):
// a file in its place gets one clear error up front instead of ENOTDIR from deep inside.
import { stat } from 'node:fs/promises';
import { CeleriacError } from './errors.js';

export async function assertDataDirUsable(dir: string, where: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR')
      throw new CeleriacError(
        'INVALID_CONFIG',
        `${where}: the data dir ${dir} cannot be a directory: a part of its path is a file. Choose another data dir`,
      );
    throw err;
  }
  if (!isDir)
    throw new CeleriacError(
      'INVALID_CONFIG',
      `${where}: the data dir ${dir} is a file, not a directory. Choose another data dir, or move the file away`,
    );
}
