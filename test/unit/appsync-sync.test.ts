/**
 * The pure parts of one realm's sync: which branding values the feed asks for (only non-empty
 * ones), translations keyed on (message id, locale), generated and unique app names.
 */
import { parseFeed } from '../../functions/jobs/appsync-worker/feed';
import type { FeedApp } from '../../functions/jobs/appsync-worker/feed';
import { groupByRegion } from '../../functions/jobs/appsync-worker/run';
import {
  desiredBranding,
  desiredTranslations,
  fingerprintSetKey,
  generatedAppName,
  translationKey,
  uniqueAppName,
} from '../../functions/jobs/appsync-worker/sync';

const FP = Array.from({ length: 32 }, () => 'AB').join(':');

function entries(...apps: Record<string, unknown>[]): readonly FeedApp[] {
  const { apps: parsed, rejected } = parseFeed({
    apps: apps.map((fields) => ({
      region: 'US-WA',
      android_target: { package_name: 'gov.example', sha256_cert_fingerprints: FP },
      ...fields,
    })),
  });
  expect(rejected).toEqual([]);
  return parsed;
}

describe('desiredBranding', () => {
  it('asks only for non-empty values, so an empty feed value never wipes a realm', () => {
    expect(desiredBranding(entries({ agency_color: '', agency_image: '', default_locale: '' }))).toEqual({});
    expect(
      desiredBranding(entries({ agency_color: '#AABBCC', web_report_learn_more_url: 'https://x.example' })),
    ).toEqual({
      agency_background_color: '#aabbcc',
      user_report_learn_more_url: 'https://x.example',
    });
  });

  it('takes the last non-empty value when a region has several entries', () => {
    const wanted = desiredBranding(
      entries({ agency_image: 'a.png', default_locale: 'en' }, { agency_image: 'b.png', default_locale: '' }),
    );
    expect(wanted).toEqual({ agency_image: 'b.png', default_locale: 'en' });
  });

  it('names the entry with a bad color', () => {
    expect(() => desiredBranding(entries({ agency_color: '#fff' }, { agency_color: 'blue' }))).toThrow(
      'apps[0].agency_color: "#fff" is not a color like #1a2b3c',
    );
  });
});

describe('desiredTranslations', () => {
  it('stores base languages, logs pt-BR / pt-PT as a collision, keeps message ids with dashes whole', () => {
    const { wanted, collisions } = desiredTranslations(
      entries({
        localizations: [
          {
            msgid: 'enx-onboarding-title',
            translations: [
              { lang: 'pt-BR', message: 'Brasil' },
              { lang: 'pt-PT', message: 'Portugal' },
              { lang: 'en_US', message: 'English' },
              { lang: 'fil', message: 'Filipino' },
            ],
          },
        ],
      }),
    );
    expect([...wanted.values()]).toEqual([
      { messageId: 'enx-onboarding-title', locale: 'pt', message: 'Brasil' },
      { messageId: 'enx-onboarding-title', locale: 'en', message: 'English' },
      { messageId: 'enx-onboarding-title', locale: 'fil', message: 'Filipino' },
    ]);
    expect(collisions).toEqual([
      { messageId: 'enx-onboarding-title', locale: 'pt', kept: 'pt-br', dropped: 'pt-pt' },
    ]);
  });

  it('prefers the bare language over a regional variant, wherever it is listed', () => {
    const { wanted } = desiredTranslations(
      entries({
        localizations: [
          {
            msgid: 'a',
            translations: [
              { lang: 'es-MX', message: 'México' },
              { lang: 'es', message: 'Español' },
            ],
          },
        ],
      }),
    );
    expect([...wanted.values()]).toEqual([{ messageId: 'a', locale: 'es', message: 'Español' }]);
  });

  it('keeps the last message for a tag listed twice, without calling it a collision', () => {
    const { wanted, collisions } = desiredTranslations(
      entries(
        { localizations: [{ msgid: 'a', translations: [{ lang: 'en', message: 'first' }] }] },
        { localizations: [{ msgid: 'a', translations: [{ lang: 'EN', message: 'second' }] }] },
      ),
    );
    expect([...wanted.values()]).toEqual([{ messageId: 'a', locale: 'en', message: 'second' }]);
    expect(collisions).toEqual([]);
  });

  it('names the entry whose tag has no language code', () => {
    expect(() =>
      desiredTranslations(
        entries({}, { localizations: [{ msgid: 'a', translations: [{ lang: '419', message: 'x' }] }] }),
      ),
    ).toThrow('apps[1].localizations[0].translations[0].lang: "419" does not start with a language code');
  });

  it('never confuses pairs whose joined forms would be the same', () => {
    expect(translationKey('a-b', 'c')).not.toBe(translationKey('a', 'b-c'));
  });
});

describe('app names and fingerprints', () => {
  it('uses app_name, else "<region> Android App"', () => {
    const [named, unnamed] = entries(
      { android_target: { app_name: 'WA Notify', package_name: 'p', sha256_cert_fingerprints: FP } },
      {},
    );
    expect(generatedAppName(named)).toBe('WA Notify');
    expect(generatedAppName(unnamed)).toBe('US-WA Android App');
  });

  it('appends a random 8-character suffix while the name is taken, case-insensitively', () => {
    expect(uniqueAppName('WA Notify', new Set())).toBe('WA Notify');
    expect(uniqueAppName('WA Notify', new Set(['wa notify']))).toMatch(/^WA Notify [A-Za-z0-9_-]{8}$/);
    const suffixes = ['taken123', 'free4567'];
    expect(uniqueAppName('X', new Set(['x', 'x taken123']), () => suffixes.shift() as string)).toBe(
      'X free4567',
    );
  });

  it('compares fingerprint sets whatever their order', () => {
    expect(fingerprintSetKey('B\nA')).toBe(fingerprintSetKey('A\nB'));
  });
});

describe('groupByRegion', () => {
  it('groups entries by upper-case region, in feed order', () => {
    const groups = groupByRegion(entries({ region: 'us-wa' }, { region: 'US-CA' }, { region: 'US-WA' }));
    expect([...groups.keys()]).toEqual(['US-WA', 'US-CA']);
    expect(groups.get('US-WA')?.map((entry) => entry.index)).toEqual([0, 2]);
  });
});
