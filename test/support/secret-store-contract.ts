/**
 * What every SecretStore must do, run against each implementation (the local one on the test
 * database, the Google one against the loopback Secret Manager), so the two cannot drift apart.
 */
import { SecretNotFoundError } from '../../functions/ports/secret-store';
import type { SecretStore } from '../../functions/ports/secret-store';

export const CONTRACT_PARENT = 'projects/enx-test-project/secrets';

export function secretStoreContract(store: () => SecretStore, unique: () => string): void {
  it('adds numbered versions to a secret it creates on first use, and reads them back', async () => {
    const id = unique();
    const first = await store().addSecretVersion(CONTRACT_PARENT, id, Buffer.from('one'));
    const second = await store().addSecretVersion(CONTRACT_PARENT, id, Buffer.from([0, 255, 7]));
    expect(first).toBe(`${CONTRACT_PARENT}/${id}/versions/1`);
    expect(second).toBe(`${CONTRACT_PARENT}/${id}/versions/2`);
    expect((await store().accessSecretVersion(first)).toString()).toBe('one');
    expect([...(await store().accessSecretVersion(second))]).toEqual([0, 255, 7]);
  });

  it('lists versions newest first with their states, and a secret never created as empty', async () => {
    const id = unique();
    const first = await store().addSecretVersion(CONTRACT_PARENT, id, Buffer.from('a'));
    const second = await store().addSecretVersion(CONTRACT_PARENT, id, Buffer.from('b'));
    await store().destroySecretVersion(first);
    const versions = await store().listSecretVersions(`${CONTRACT_PARENT}/${id}`);
    expect(versions.map((version) => [version.name, version.state])).toEqual([
      [second, 'ENABLED'],
      [first, 'DESTROYED'],
    ]);
    expect(versions[0].createdAt).toBeInstanceOf(Date);
    expect(await store().listSecretVersions(`${CONTRACT_PARENT}/${unique()}`)).toEqual([]);
  });

  it('destroys idempotently: destroyed, then already-destroyed, and a missing version is already gone', async () => {
    const id = unique();
    const version = await store().addSecretVersion(CONTRACT_PARENT, id, Buffer.from('x'));
    expect(await store().destroySecretVersion(version)).toBe('destroyed');
    expect(await store().destroySecretVersion(version)).toBe('already-destroyed');
    expect(await store().destroySecretVersion(`${CONTRACT_PARENT}/${id}/versions/99`)).toBe(
      'already-destroyed',
    );
    await expect(store().accessSecretVersion(version)).rejects.toThrow(SecretNotFoundError);
    await expect(store().accessSecretVersion(version)).rejects.toThrow(version);
  });

  it('refuses to access a version that does not exist, naming it', async () => {
    const missing = `${CONTRACT_PARENT}/${unique()}/versions/1`;
    await expect(store().accessSecretVersion(missing)).rejects.toThrow(SecretNotFoundError);
    await expect(store().accessSecretVersion(missing)).rejects.toThrow(missing);
  });

  it('refuses malformed names and payloads before calling anything, saying the expected form', async () => {
    await expect(store().addSecretVersion('projects/p', 'x', Buffer.from('a'))).rejects.toThrow(
      /projects\/<project>\/secrets: check SECRETS_PARENT/,
    );
    await expect(store().addSecretVersion(CONTRACT_PARENT, 'bad/id', Buffer.from('a'))).rejects.toThrow(
      /secret id "bad\/id"/,
    );
    await expect(store().addSecretVersion(CONTRACT_PARENT, unique(), Buffer.alloc(0))).rejects.toThrow(
      /empty/,
    );
    await expect(store().addSecretVersion(CONTRACT_PARENT, unique(), Buffer.alloc(65_537))).rejects.toThrow(
      /at most 65536/,
    );
    await expect(store().accessSecretVersion(`${CONTRACT_PARENT}/x/versions/latest`)).rejects.toThrow(
      /versions\/<number>/,
    );
    await expect(store().destroySecretVersion('cookie-keys')).rejects.toThrow(/not a secret version name/);
    await expect(store().listSecretVersions('projects/p/secrets/a/versions/1')).rejects.toThrow(
      /not a secret name/,
    );
  });
}
