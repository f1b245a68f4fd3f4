// The backend contract on the file backend (a data dir).
import { after } from 'node:test';
import { contractCases, fileWhere } from './cases.js';

contractCases('file', () => fileWhere({ after }));
