/**
 * One whole environment as synthesized, so any change to the infrastructure shows up in review.
 * Update with `npx jest test/infra -u` after checking the diff.
 */
import { removeScratch, settingsFrom, synth } from './support';

afterAll(removeScratch);

it('synthesizes the same stack as reviewed', () => {
  const first = synth(settingsFrom({ ENX_INFRA_STATE_BUCKET: 'enx-tf-state' })).text;
  const second = synth(settingsFrom({ ENX_INFRA_STATE_BUCKET: 'enx-tf-state' })).text;
  expect(second).toBe(first);
  expect(first).toMatchSnapshot();
});
