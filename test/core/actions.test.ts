import { Actions } from '../../protocol/actions';
import { ClientFrames } from '../../protocol/frames';

describe('GIVEN the action names apart from the frame schemas', () => {
  test('THEN Actions lists every action of ClientFrames, in its order', () => {
    expect([...Actions]).toEqual(Object.keys(ClientFrames));
  });
});
