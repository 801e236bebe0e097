import { randomBytes } from 'node:crypto';
import { WEBHOOKS_PER_ACCOUNT } from '@selfie/contracts';
import { connectMongo, Types, WebhookRepository } from '@selfie/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startTestGateway, type TestGateway } from './support.js';

// The cap of 20 webhooks per account under concurrent creates: each webhook holds one of the account's slots, and
// {accountId, slot} is unique, so the store itself refuses a 21st however the requests interleave.

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => gw?.close());

describe('webhook cap', () => {
  it('holds when 30 creates race: exactly 20 succeed, each in its own slot, and a delete frees one', async () => {
    const { key, accountId } = await gw.newAccount('race');
    const api = apiClient(`${gw.url}/v1`, key);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        api('POST', '/webhooks', { json: { url: `https://x.test/race/${i}`, events: ['*'] } }),
      ),
    );
    const created = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(created).toHaveLength(WEBHOOKS_PER_ACCOUNT);
    expect(refused).toHaveLength(30 - WEBHOOKS_PER_ACCOUNT);
    for (const r of refused) {
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ type: 'invalid_request', message: 'An account can have at most 20 webhooks' });
    }

    const stored = await gw.repos.webhooks.model.find({ accountId: new Types.ObjectId(accountId) }).lean();
    expect(stored).toHaveLength(WEBHOOKS_PER_ACCOUNT);
    expect(new Set(stored.map((w) => w.slot)).size).toBe(WEBHOOKS_PER_ACCOUNT);
    for (const w of stored) expect(w.slot).toBeGreaterThanOrEqual(0);
    for (const w of stored) expect(w.slot).toBeLessThan(WEBHOOKS_PER_ACCOUNT);
    expect((await api('GET', '/webhooks')).body.totalItems).toBe(WEBHOOKS_PER_ACCOUNT);

    // A second race on a full account: every create is refused.
    const again = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        api('POST', '/webhooks', { json: { url: `https://x.test/again/${i}`, events: ['*'] } }),
      ),
    );
    expect(again.map((a) => a.status)).toEqual([400, 400, 400, 400, 400]);

    // Deleting one frees its slot for exactly one of the next racing creates.
    const [first] = created;
    expect((await api('DELETE', `/webhooks/${first?.body.id}`)).status).toBe(204);
    const refill = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        api('POST', '/webhooks', { json: { url: `https://x.test/refill/${i}`, events: ['*'] } }),
      ),
    );
    expect(refill.filter((a) => a.status === 200)).toHaveLength(1);
    expect(await gw.repos.webhooks.countForAccount(accountId)).toBe(WEBHOOKS_PER_ACCOUNT);
  });

  it("leaves other accounts' caps alone", async () => {
    const a = await gw.newAccount('a');
    const b = await gw.newAccount('b');
    const apiA = apiClient(`${gw.url}/v1`, a.key);
    const apiB = apiClient(`${gw.url}/v1`, b.key);
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? apiA : apiB)('POST', '/webhooks', { json: { url: `https://x.test/ab/${i}`, events: ['*'] } }),
      ),
    );
    expect(answers.every((x) => x.status === 200)).toBe(true);
    expect(await gw.repos.webhooks.countForAccount(a.accountId)).toBe(12);
    expect(await gw.repos.webhooks.countForAccount(b.accountId)).toBe(12);
  });

  it('gives webhooks stored before slots existed a slot at start, an account over the cap keeping its extras', async () => {
    // A database of its own: the slot index of the gateway's one would refuse webhooks without a slot.
    const uri = new URL(gw.config.MONGODB_URI);
    uri.pathname = `${uri.pathname}_legacy${randomBytes(3).toString('hex')}`;
    const conn = await connectMongo(uri.toString());
    try {
      const over = new Types.ObjectId();
      const under = new Types.ObjectId();
      const legacy = (accountId: Types.ObjectId, i: number) => ({
        _id: new Types.ObjectId(),
        accountId,
        url: `https://x.test/legacy/${i}`,
        enabled: true,
        events: ['*'],
        secret: 'x'.repeat(32),
        createdAt: new Date(Date.now() - 100_000 + i),
        updatedAt: new Date(),
      });
      await conn
        .collection('webhooks')
        .insertMany([
          ...Array.from({ length: WEBHOOKS_PER_ACCOUNT + 2 }, (_, i) => legacy(over, i)),
          ...Array.from({ length: 3 }, (_, i) => legacy(under, i)),
        ]);

      const repo = new WebhookRepository(conn);
      await repo.init();
      await repo.init(); // twice, as two replicas starting would: nothing changes
      const slots = async (accountId: Types.ObjectId) =>
        (await repo.model.find({ accountId }).sort({ createdAt: 1 }).lean()).map((w) => w.slot);
      expect(await slots(over)).toEqual(Array.from({ length: WEBHOOKS_PER_ACCOUNT + 2 }, (_, i) => i));
      expect(await slots(under)).toEqual([0, 1, 2]);
      const indexes = await conn.collection('webhooks').indexes();
      expect(indexes.find((i) => i.name === 'accountId_1_slot_1')).toMatchObject({ unique: true });

      const input = { url: 'https://x.test/new', events: ['*'] };
      expect(await repo.createWithinLimit(over.toHexString(), input)).toBeNull();
      const added = await repo.createWithinLimit(under.toHexString(), input);
      expect(added?.slot).toBeGreaterThanOrEqual(3);
    } finally {
      await conn.dropDatabase().catch(() => {});
      await conn.close();
    }
  });
});
