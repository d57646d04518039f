/**
 * appsync-worker's feed rules (enx-jobs.md §1) without a network: schema validation naming the bad
 * entry and field, fingerprint normalisation to the stored form, colors and locales.
 */
import {
  normaliseColor,
  normaliseFingerprints,
  dynamicLocale,
  parseFeed,
} from '../../functions/jobs/appsync-worker/feed';

const FP_A = Array.from({ length: 32 }, () => 'AB').join(':');
const FP_B = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase()).join(':');

function app(overrides: Record<string, unknown> = {}, target: Record<string, unknown> = {}) {
  return {
    region: 'US-WA',
    is_enx: true,
    android_target: {
      namespace: 'android_app',
      package_name: 'gov.wa.doh.exposurenotifications',
      sha256_cert_fingerprints: FP_A,
      ...target,
    },
    agency_color: '#AABBCC',
    localizations: [{ msgid: 'agency-name', translations: [{ lang: 'pt-BR', message: 'Olá' }] }],
    ...overrides,
  };
}

function feedError(body: unknown): string {
  try {
    parseFeed(body);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the feed was accepted');
}

describe('parseFeed', () => {
  it('reads a well-formed entry, defaulting absent optional fields to empty', () => {
    const {
      apps: [entry],
    } = parseFeed({ apps: [app({ headless: true })] });
    expect(entry).toEqual({
      index: 0,
      region: 'US-WA',
      android: {
        namespace: 'android_app',
        appName: '',
        packageName: 'gov.wa.doh.exposurenotifications',
        fingerprints: FP_A,
      },
      agencyColor: '#AABBCC',
      agencyImage: '',
      defaultLocale: '',
      webReportLearnMoreUrl: '',
      localizations: [{ msgid: 'agency-name', translations: [{ lang: 'pt-BR', message: 'Olá' }] }],
      headless: true,
    });
  });

  it('accepts an empty list', () => {
    expect(parseFeed({ apps: [] })).toEqual({ apps: [], rejected: [] });
  });

  it.each([
    [
      { apps: [app(), app({}, { package_name: '' })] },
      'apps[1].android_target.package_name must be a non-empty string',
    ],
    [
      { apps: [app({}, { package_name: 42 })] },
      'apps[0].android_target.package_name must be a non-empty string',
    ],
    [
      { apps: [app({}, { sha256_cert_fingerprints: null })] },
      'apps[0].android_target.sha256_cert_fingerprints must be a non-empty string',
    ],
    [{ apps: [app(), app(), app(), app({ region: '' })] }, 'apps[3].region must be a non-empty string'],
    [{ apps: [app({ android_target: 'x' })] }, 'apps[0].android_target must be an object'],
    [{ apps: [app({ agency_color: 7 })] }, 'apps[0].agency_color must be a string'],
    [{ apps: [app({ headless: 'yes' })] }, 'apps[0].headless must be true or false'],
    [{ apps: [app({ localizations: {} })] }, 'apps[0].localizations must be an array'],
    [
      { apps: [app({ localizations: [{ msgid: 'a', translations: [{ lang: '', message: 'x' }] }] })] },
      'apps[0].localizations[0].translations[0].lang must be a non-empty string',
    ],
    [
      { apps: [app({ localizations: [{ translations: [] }] })] },
      'apps[0].localizations[0].msgid must be a non-empty string',
    ],
    [{ apps: [7] }, 'apps[0] must be an object'],
  ])('sets %j aside naming the field, keeping the well-formed entries', (body, message) => {
    const { apps, rejected } = parseFeed(body);
    expect(rejected).toEqual([expect.objectContaining({ error: message })]);
    expect(apps).toHaveLength(body.apps.length - 1);
  });

  it('keeps the region of a rejected entry when it can be read, upper case', () => {
    const { rejected } = parseFeed({ apps: [app({ region: 'us-ca', headless: 'yes' }), 7] });
    expect(rejected).toEqual([
      { index: 0, region: 'US-CA', error: 'apps[0].headless must be true or false' },
      { index: 1, region: undefined, error: 'apps[1] must be an object' },
    ]);
  });

  it.each([
    [{ apps: 'none' }, 'apps must be an array'],
    [{}, 'apps must be an array'],
    [[], 'the feed must be a JSON object with an "apps" array'],
    [{ error: 'quota exceeded', apps: [] }, 'the feed reported an error: quota exceeded'],
    [{ Error: 'internal' }, 'the feed reported an error: internal'],
  ])('refuses %j naming the field', (body, message) => {
    expect(feedError(body)).toBe(message);
  });
});

describe('normaliseFingerprints', () => {
  it('keeps the stored form as it is', () => {
    expect(normaliseFingerprints(`${FP_A}\n${FP_B}`)).toBe(`${FP_A}\n${FP_B}`);
  });

  it('upper-cases and splits on commas or newlines, trimming each, as the server stores them', () => {
    expect(normaliseFingerprints(` ${FP_A.toLowerCase()} , ${FP_B.toLowerCase()}\r\n`)).toBe(
      `${FP_A}\n${FP_B}`,
    );
    expect(normaliseFingerprints(`${FP_A},${FP_B}`)).toBe(normaliseFingerprints(`${FP_A}\n${FP_B}`));
  });

  it('refuses values that are not 95-character SHA-256 fingerprints, naming which', () => {
    expect(() => normaliseFingerprints(`${FP_A},AB:CD`)).toThrow(
      /fingerprint 2 \("AB:CD"\) is not a SHA-256/,
    );
    expect(() => normaliseFingerprints(FP_A.replace(/:/g, ''))).toThrow(/fingerprint 1/);
    expect(() => normaliseFingerprints(FP_A.replace('AB', 'ZZ'))).toThrow(/not a SHA-256/);
    expect(() => normaliseFingerprints(' , \n')).toThrow('has no fingerprint');
  });
});

describe('normaliseColor', () => {
  it('lower-cases a valid color', () => {
    expect(normaliseColor('#AABBCC')).toBe('#aabbcc');
    expect(normaliseColor(' #0b8043 ')).toBe('#0b8043');
  });

  it.each(['red', '#abc', '#aabbccdd', 'aabbcc', '#gg0000'])('refuses %s', (color) => {
    expect(() => normaliseColor(color)).toThrow('is not a color like #1a2b3c');
  });
});

describe('dynamicLocale', () => {
  it("stores the base language ENX's LookupDynamic reads, keeping 3-letter languages whole", () => {
    expect(dynamicLocale('pt-BR')).toBe('pt');
    expect(dynamicLocale('en_US')).toBe('en');
    expect(dynamicLocale(' EN ')).toBe('en');
    expect(dynamicLocale('es-419')).toBe('es');
    expect(dynamicLocale('fil-PH')).toBe('fil');
    expect(dynamicLocale('haw')).toBe('haw');
  });

  it('refuses a tag without a language code', () => {
    expect(() => dynamicLocale('419')).toThrow('"419" does not start with a language code like en or fil');
    expect(() => dynamicLocale('')).toThrow();
  });
});
