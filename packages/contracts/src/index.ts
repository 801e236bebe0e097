export * from './api.js';
export * from './errors.js';
export * from './events.js';
export * from './inspections.js';
export * from './jobs.js';
