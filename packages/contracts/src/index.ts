export * from './inspections.js';
export * from './jobs.js';
