import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from './index.js';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.UPLOAD_MIN_BYTES).toBe(34 * 1024);
    expect(config.RATE_LIMIT_PER_SECOND).toBe(10);
    expect(config.DEMO_ENABLED).toBe(true);
  });

  it('coerces numbers and reads "false" as false', () => {
    const config = loadConfig({ PORT: '8080', DEMO_ENABLED: 'false', WEBHOOK_ALLOW_PRIVATE: '1' });
    expect(config.PORT).toBe(8080);
    expect(config.DEMO_ENABLED).toBe(false);
    expect(config.WEBHOOK_ALLOW_PRIVATE).toBe(true);
  });

  it('names every bad variable in the error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', S3_ENDPOINT: 'not a url', DEMO_ENABLED: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const variables = (error as ConfigError).issues.map((i) => i.variable).sort();
    expect(variables).toEqual(['DEMO_ENABLED', 'PORT', 'S3_ENDPOINT']);
    expect((error as ConfigError).message).toContain('PORT:');
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
  });

  it('describes every variable', () => {
    const described = describeConfig();
    expect(described.length).toBeGreaterThan(20);
    for (const v of described) expect(v.description, v.name).not.toBe('');
  });
});
