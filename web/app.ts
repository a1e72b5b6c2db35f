/**
 * The ebb web chat's page: plain DOM over a ChatController (web/controller.ts), which holds the logic.
 * Served by the local stack (local/web.ts). It never logs: message text and keys stay in the SDK's and
 * the chat's IndexedDB databases.
 */
import { type DeviceInfo, EbbError, IndexedDbStore, type Phase, type SunsetSchedule } from '../client-sdk/src';
import { ChatController, type ChatView, type ConnectionStatus } from './controller';
import { explain } from './errors';
import { WebNotifications } from './notifications';
import { qrElement } from './qr';
import type { ChatMessage, Conversation } from './history';
import {
  type FileState,
  type FilesView,
  conversationName,
  deviceElement,
  groupDigits,
  memberElement,
  messageElement,
  shortId,
  updateTimers,
} from './render';
import { sunsetText } from './sunset';

const TICK_MS = 500;
/** How often the open devices list asks again while a linked device has not connected yet. */
const PENDING_DEVICE_POLL_MS = 2000;

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  me: byId<HTMLElement>('me'),
  userId: byId<HTMLElement>('user-id'),
  copyId: byId<HTMLButtonElement>('copy-id'),
  usernameForm: byId<HTMLFormElement>('username-form'),
  username: byId<HTMLInputElement>('username'),
  usernameStatus: byId<HTMLElement>('username-status'),
  connection: byId<HTMLElement>('connection'),
  sunset: byId<HTMLElement>('sunset'),
  sunsetText: byId<HTMLElement>('sunset-text'),
  exportButton: byId<HTMLButtonElement>('export'),
  welcome: byId<HTMLElement>('welcome'),
  createAccount: byId<HTMLButtonElement>('create-account'),
  linkStart: byId<HTMLButtonElement>('link-start'),
  linkPanel: byId<HTMLElement>('link-panel'),
  linkQr: byId<HTMLElement>('link-qr'),
  linkCode: byId<HTMLElement>('link-code'),
  copyLinkCode: byId<HTMLButtonElement>('copy-link-code'),
  linkStatus: byId<HTMLElement>('link-status'),
  welcomeError: byId<HTMLElement>('welcome-error'),
  devicesButton: byId<HTMLButtonElement>('devices-button'),
  notifications: byId<HTMLButtonElement>('notifications'),
  notificationsStatus: byId<HTMLElement>('notifications-status'),
  devicesDialog: byId<HTMLDialogElement>('devices-dialog'),
  deviceList: byId<HTMLUListElement>('device-list'),
  devicesError: byId<HTMLElement>('devices-error'),
  approveForm: byId<HTMLFormElement>('approve-form'),
  approveCode: byId<HTMLTextAreaElement>('approve-code'),
  approveName: byId<HTMLInputElement>('approve-name'),
  approveButton: byId<HTMLButtonElement>('approve'),
  approveStatus: byId<HTMLElement>('approve-status'),
  approveElsewhere: byId<HTMLElement>('approve-elsewhere'),
  devicesClose: byId<HTMLButtonElement>('devices-close'),
  exportDialog: byId<HTMLDialogElement>('export-dialog'),
  exportForm: byId<HTMLFormElement>('export-form'),
  exportCancel: byId<HTMLButtonElement>('export-cancel'),
  passphrase: byId<HTMLInputElement>('passphrase'),
  passphraseAgain: byId<HTMLInputElement>('passphrase-again'),
  exportError: byId<HTMLElement>('export-error'),
  layout: byId<HTMLElement>('layout'),
  startForm: byId<HTMLFormElement>('start-form'),
  peer: byId<HTMLInputElement>('peer'),
  startButton: byId<HTMLButtonElement>('start'),
  startError: byId<HTMLElement>('start-error'),
  conversations: byId<HTMLUListElement>('conversations'),
  newGroup: byId<HTMLDetailsElement>('new-group'),
  groupForm: byId<HTMLFormElement>('group-form'),
  groupName: byId<HTMLInputElement>('group-name'),
  groupMembers: byId<HTMLInputElement>('group-members'),
  createGroup: byId<HTMLButtonElement>('create-group'),
  groupError: byId<HTMLElement>('group-error'),
  membersPanel: byId<HTMLDetailsElement>('members-panel'),
  membersSummary: byId<HTMLElement>('members-summary'),
  memberList: byId<HTMLUListElement>('member-list'),
  addMembersForm: byId<HTMLFormElement>('add-members-form'),
  addMembers: byId<HTMLInputElement>('add-members'),
  renameForm: byId<HTMLFormElement>('rename-form'),
  renameGroup: byId<HTMLInputElement>('rename-group'),
  leaveGroup: byId<HTMLButtonElement>('leave-group'),
  groupStatus: byId<HTMLElement>('group-status'),
  chat: byId<HTMLElement>('chat'),
  empty: byId<HTMLElement>('empty'),
  peerName: byId<HTMLElement>('peer-name'),
  safety: byId<HTMLDetailsElement>('safety'),
  safetyNumber: byId<HTMLElement>('safety-number'),
  identityWarning: byId<HTMLElement>('identity-warning'),
  identityWarningText: byId<HTMLElement>('identity-warning-text'),
  acceptIdentity: byId<HTMLButtonElement>('accept-identity'),
  messages: byId<HTMLOListElement>('messages'),
  compose: byId<HTMLFormElement>('compose'),
  message: byId<HTMLTextAreaElement>('message'),
  expires: byId<HTMLSelectElement>('expires'),
  burn: byId<HTMLSelectElement>('burn'),
  send: byId<HTMLButtonElement>('send'),
  attach: byId<HTMLButtonElement>('attach'),
  attachInput: byId<HTMLInputElement>('attach-input'),
  record: byId<HTMLButtonElement>('record'),
};

let chat: ChatController | undefined;
/** Notifications of wake-ups (ARCH §6.13), where the browser can have them; set up once the page is online. */
let notifications: WebNotifications | undefined;
let notificationsOffered = false;
let devicesPoll: ReturnType<typeof setTimeout> | undefined;
/** False for a visitor the service cannot take (it has shut down, or takes no new accounts). */
let hasAccount = true;

/** The controller's view: what each change looks like on the page. */
const view: ChatView = {
  account(userId) {
    // A visitor the service cannot take gets the notice alone: no user id, nothing to start.
    hasAccount = userId !== null;
    ui.me.hidden = userId === null;
    ui.layout.hidden = userId === null;
    ui.exportButton.hidden = userId === null;
    ui.userId.textContent = userId ?? '';
    if (userId !== null) ui.welcome.hidden = true;
    else {
      if (ui.devicesDialog.open) ui.devicesDialog.close();
      // The device is gone from the account, and its subscription with it: the browser drops its own too.
      ui.notifications.hidden = true;
      void notifications?.forget().catch(() => undefined);
    }
  },
  connection(status) {
    showConnection(status);
    if (status.online && chat && !notificationsOffered) {
      notificationsOffered = true;
      void offerNotifications(chat);
    }
  },
  sunset: showSunset,
  conversations: renderConversations,
  chat: renderChat,
};

async function main(): Promise<void> {
  // One identity per deployment: a restarted local stack has forgotten every account (see local/web.ts).
  const deployment = document.querySelector<HTMLMetaElement>('meta[name="ebb-deployment"]')?.content ?? 'default';
  chat = await ChatController.open({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`,
    store: new IndexedDbStore(`ebb-${deployment}`),
    historyStore: new IndexedDbStore(`ebb-chat-${deployment}`),
    view,
    isVisible: () => !document.hidden,
  });
  if (WebNotifications.supported()) notifications = new WebNotifications(`ebb-notifications-${deployment}`);
  ui.username.value = chat.savedUsername ?? '';
  renderConversations();
  wireForms(chat);
  setInterval(() => void tick(), TICK_MS);
  document.addEventListener('visibilitychange', () => chat?.current && chat.markShown(chat.current));
  if (chat.choosing) welcome(chat);
  else await chat.connect();
}

/**
 * Shows "Enable notifications" when the browser can be woken and the service sends Web Push, and renews them
 * when the user enabled them on an earlier visit. Never asks for permission by itself: only the button does.
 */
async function offerNotifications(chat: ChatController): Promise<void> {
  const manager = notifications;
  if (!manager) return;
  const key = await chat.pushKey().catch(() => null);
  if (key === null) return;
  manager.onWake(() => chat.wake());
  // What the notifications announced is on the page now.
  const clear = () => void (!document.hidden && manager.clearShown().catch(() => undefined));
  document.addEventListener('visibilitychange', clear);
  clear();
  let busy = false;
  const show = (text = '', error = false) => {
    const state = manager.state;
    ui.notifications.hidden = false;
    ui.notifications.disabled = busy || state === 'blocked';
    ui.notifications.textContent = state === 'on' ? 'Turn off notifications' : state === 'blocked' ? 'Notifications blocked' : 'Enable notifications';
    note(ui.notificationsStatus, text, error);
  };
  ui.notifications.addEventListener('click', () => {
    const on = manager.state === 'on';
    busy = true;
    show(on ? 'Turning off…' : 'Enabling…');
    (on ? manager.disable(chat) : manager.enable(chat)).then(
      () => {
        busy = false;
        show(on ? 'Notifications are off.' : 'Notifications are on: a hidden or closed chat says "New message".');
      },
      (error: unknown) => {
        busy = false;
        show(explain(error), true);
      },
    );
  });
  show();
  try {
    if (await manager.restore(chat)) show();
  } catch (error) {
    show(explain(error), true);
  }
}

/** A first visit: a new account, or this browser as another device of an existing one (ARCH §8.6). */
function welcome(chat: ChatController): void {
  ui.welcome.hidden = false;
  ui.layout.hidden = true;
  ui.me.hidden = true;
  showConnection({ online: false, text: 'Not connected yet' });
  const choosing = (on: boolean) => {
    ui.createAccount.disabled = !on;
    ui.linkStart.disabled = !on;
  };
  ui.createAccount.addEventListener('click', () => {
    choosing(false);
    ui.welcome.hidden = true;
    ui.layout.hidden = false;
    showConnection({ online: false, text: 'Connecting…' });
    void chat.connect();
  });
  ui.linkStart.addEventListener('click', () => {
    choosing(false);
    ui.welcomeError.textContent = '';
    chat.startLink().then(
      ({ code, linked }) => {
        ui.linkQr.replaceChildren(qrElement(code, 'QR code of the link code'));
        ui.linkCode.textContent = code;
        ui.linkStatus.textContent = 'Waiting for approval. The code is good for 10 minutes.';
        ui.linkPanel.hidden = false;
        showConnection({ online: false, text: 'Waiting for approval' });
        linked.then(
          () => {
            ui.linkPanel.hidden = true;
            ui.layout.hidden = false;
          },
          (error: unknown) => {
            ui.linkPanel.hidden = true;
            ui.welcomeError.textContent = explain(error);
            choosing(true);
          },
        );
      },
      (error: unknown) => {
        ui.welcomeError.textContent = explain(error);
        choosing(true);
      },
    );
  });
  ui.copyLinkCode.addEventListener('click', () => {
    void navigator.clipboard.writeText(ui.linkCode.textContent ?? '').then(
      () => flash(ui.copyLinkCode, 'Copied'),
      () => window.getSelection()?.selectAllChildren(ui.linkCode),
    );
  });
}

/** The devices dialog: the list with Remove buttons, and approving a new device on the first device. */
function wireDevices(chat: ChatController): void {
  ui.devicesButton.addEventListener('click', () => {
    ui.devicesError.textContent = '';
    ui.approveStatus.textContent = '';
    ui.approveForm.hidden = !chat.holdsAccountKey;
    ui.approveElsewhere.hidden = chat.holdsAccountKey;
    ui.devicesDialog.showModal();
    void showDevices(chat);
  });
  ui.devicesClose.addEventListener('click', () => ui.devicesDialog.close());
  ui.approveForm.addEventListener('submit', (event) => {
    event.preventDefault();
    ui.approveButton.disabled = true;
    note(ui.approveStatus, 'Approving…');
    chat
      .approveLink(ui.approveCode.value, ui.approveName.value)
      .then(
        (device) => {
          ui.approveCode.value = '';
          ui.approveName.value = '';
          note(ui.approveStatus, `Linked as device ${device}. It is ready once it has connected.`);
          return showDevices(chat);
        },
        (error: unknown) => note(ui.approveStatus, explain(error), true),
      )
      .finally(() => (ui.approveButton.disabled = false));
  });
}

async function showDevices(chat: ChatController): Promise<void> {
  let devices: DeviceInfo[];
  try {
    devices = await chat.devices();
  } catch (error) {
    ui.devicesError.textContent = explain(error);
    return;
  }
  ui.deviceList.replaceChildren(
    ...devices.map((info) => {
      // The first device removes the others; any other device only itself.
      const removable = chat.holdsAccountKey ? info.device !== 1 : info.current;
      return deviceElement(info, removable ? () => void removeDevice(chat, info) : undefined);
    }),
  );
  // A device just approved shows as ready once it has connected and published its keys.
  clearTimeout(devicesPoll);
  if (devices.some((info) => !info.ready)) {
    devicesPoll = setTimeout(() => void (ui.devicesDialog.open && showDevices(chat)), PENDING_DEVICE_POLL_MS);
  }
}

/** Removes after a second click on the same button: a removed device cannot come back with its keys. */
async function removeDevice(chat: ChatController, info: DeviceInfo): Promise<void> {
  const button = ui.deviceList.querySelector<HTMLButtonElement>(`li[data-device="${info.device}"] button`);
  if (button && button.dataset.armed !== 'true') {
    button.dataset.armed = 'true';
    button.textContent = info.current ? 'Remove this device: click again' : 'Remove: click again';
    return;
  }
  ui.devicesError.textContent = '';
  try {
    await chat.removeDevice(info.device);
  } catch (error) {
    ui.devicesError.textContent = explain(error);
    return;
  }
  if (!info.current) await showDevices(chat);
}

/** Groups (ARCH §8.9): the New group form, and the open group's members, add, rename and leave. */
function wireGroups(chat: ChatController): void {
  ui.groupForm.addEventListener('submit', (event) => {
    event.preventDefault();
    ui.groupError.textContent = '';
    ui.createGroup.disabled = true;
    chat
      .createGroup(ui.groupName.value, ui.groupMembers.value)
      .then(
        () => {
          ui.groupName.value = '';
          ui.groupMembers.value = '';
          ui.newGroup.open = false;
          ui.message.focus();
        },
        (error: unknown) => (ui.groupError.textContent = explain(error)),
      )
      .finally(() => (ui.createGroup.disabled = false));
  });
  const act = (call: () => Promise<void>, done: string, input?: HTMLInputElement) => {
    note(ui.groupStatus, '');
    call().then(
      () => {
        if (input) input.value = '';
        note(ui.groupStatus, done);
      },
      (error: unknown) => note(ui.groupStatus, explain(error), true),
    );
  };
  ui.addMembersForm.addEventListener('submit', (event) => {
    event.preventDefault();
    act(() => chat.addGroupMembers(ui.addMembers.value), 'Added.', ui.addMembers);
  });
  ui.renameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    act(() => chat.renameGroup(ui.renameGroup.value), 'Renamed.', ui.renameGroup);
  });
  ui.leaveGroup.addEventListener('click', () => {
    if (ui.leaveGroup.dataset.armed !== 'true') {
      ui.leaveGroup.dataset.armed = 'true';
      ui.leaveGroup.textContent = 'Leave group: click again';
      return;
    }
    delete ui.leaveGroup.dataset.armed;
    ui.leaveGroup.textContent = 'Leave group';
    act(() => chat.leaveGroup(), 'You left the group.');
  });
}

function wireForms(chat: ChatController): void {
  wireDevices(chat);
  wireGroups(chat);
  ui.copyId.addEventListener('click', () => {
    void navigator.clipboard.writeText(ui.userId.textContent ?? '').then(
      () => flash(ui.copyId, 'Copied'),
      () => window.getSelection()?.selectAllChildren(ui.userId),
    );
  });

  ui.usernameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    note(ui.usernameStatus, 'Saving…');
    chat.setUsername(ui.username.value).then(
      (username) => note(ui.usernameStatus, `You are ${username}`),
      (error: unknown) => note(ui.usernameStatus, explain(error), true),
    );
  });

  ui.startForm.addEventListener('submit', (event) => {
    event.preventDefault();
    ui.startError.textContent = '';
    ui.startButton.disabled = true;
    chat
      .startConversation(ui.peer.value)
      .then(
        () => {
          ui.peer.value = '';
          ui.safety.open = false;
          ui.safetyNumber.textContent = '';
          ui.message.focus();
        },
        (error: unknown) => (ui.startError.textContent = explain(error)),
      )
      .finally(() => (ui.startButton.disabled = false));
  });

  ui.compose.addEventListener('submit', (event) => {
    event.preventDefault();
    const sent = chat.send(ui.message.value, composeSettings());
    if (sent) ui.message.value = '';
  });
  const sendFiles = (files: readonly File[]) => {
    if (files.length === 0) return;
    const sent = chat.send(ui.message.value, composeSettings(), files);
    if (sent) ui.message.value = '';
  };
  ui.attach.addEventListener('click', () => ui.attachInput.click());
  ui.record.addEventListener('click', () => void toggleRecording((file) => sendFiles([file])));
  ui.attachInput.addEventListener('change', () => {
    sendFiles([...(ui.attachInput.files ?? [])]);
    ui.attachInput.value = '';
  });
  // Drop files anywhere on the open conversation to send them.
  ui.chat.addEventListener('dragover', (event) => {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    ui.chat.classList.add('dropping');
  });
  ui.chat.addEventListener('dragleave', () => ui.chat.classList.remove('dropping'));
  ui.chat.addEventListener('drop', (event) => {
    ui.chat.classList.remove('dropping');
    if (!event.dataTransfer?.files.length) return;
    event.preventDefault();
    sendFiles([...event.dataTransfer.files]);
  });
  ui.message.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      ui.compose.requestSubmit();
    }
  });

  ui.safety.addEventListener('toggle', () => {
    if (ui.safety.open && chat.current) void showSafetyNumber(chat, chat.current.peerId);
  });
  ui.acceptIdentity.addEventListener('click', () => {
    void chat.acceptIdentity().then(async () => {
      if (ui.safety.open && chat.current) await showSafetyNumber(chat, chat.current.peerId);
    });
  });

  ui.exportButton.addEventListener('click', () => {
    ui.exportError.textContent = '';
    ui.exportDialog.showModal();
  });
  ui.exportCancel.addEventListener('click', () => closeExport());
  ui.exportForm.addEventListener('submit', (event) => {
    event.preventDefault();
    ui.exportError.textContent = '';
    chat.exportArchive(ui.passphrase.value, ui.passphraseAgain.value).then(
      (archive) => {
        closeExport();
        download(archive, `ebb-archive-${new Date().toISOString().slice(0, 10)}.ebb`);
      },
      (error: unknown) => (ui.exportError.textContent = explain(error)),
    );
  });
}

async function tick(): Promise<void> {
  await chat?.tick().catch(() => undefined);
  updateTimers(ui.messages, Date.now());
}

async function showSafetyNumber(chat: ChatController, peerId: string): Promise<void> {
  ui.safetyNumber.textContent = 'computing…';
  try {
    const digits = await chat.safetyNumber(peerId);
    if (chat.current?.peerId === peerId) ui.safetyNumber.textContent = groupDigits(digits);
  } catch (error) {
    ui.safetyNumber.textContent = explain(error);
  }
}

function showConnection({ online, text }: ConnectionStatus): void {
  ui.connection.textContent = text;
  ui.connection.className = `connection ${online ? 'online' : 'offline'}`;
}

function showSunset(phase: Phase, schedule: SunsetSchedule): void {
  const text = sunsetText(phase, schedule, hasAccount);
  ui.sunset.hidden = text === null;
  ui.sunset.dataset.phase = phase;
  ui.sunsetText.textContent = text ?? '';
  if (schedule.noticeUrl && /^https?:\/\//i.test(schedule.noticeUrl)) {
    const link = document.createElement('a');
    link.href = schedule.noticeUrl;
    link.rel = 'noopener noreferrer';
    link.target = '_blank';
    link.textContent = 'More information';
    ui.sunsetText.append(' ', link);
  }
  ui.send.disabled = phase === 'read-only' || phase === 'shut-down';
}

function renderConversations(): void {
  const current = chat?.current;
  ui.conversations.replaceChildren(
    ...(chat?.conversations ?? []).map((conversation) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.title = conversation.peerId;
      button.setAttribute('aria-current', String(conversation === current));
      const name = document.createElement('span');
      name.textContent = conversationName(conversation);
      button.append(name);
      if (conversation.group) {
        const kind = document.createElement('span');
        kind.className = 'kind';
        kind.textContent = conversation.left ? 'group, left' : 'group';
        button.append(kind);
      }
      if (conversation.unread > 0) {
        const badge = document.createElement('span');
        badge.className = 'unread';
        badge.textContent = String(conversation.unread);
        badge.setAttribute('aria-label', `${conversation.unread} unread`);
        button.append(badge);
      }
      button.addEventListener('click', () => {
        ui.safety.open = false;
        ui.safetyNumber.textContent = '';
        note(ui.groupStatus, '');
        chat?.select(conversation);
        ui.message.focus();
      });
      item.append(button);
      return item;
    }),
  );
}

function renderChat(): void {
  const conversation = chat?.current;
  ui.chat.hidden = !conversation;
  ui.empty.hidden = !!conversation;
  if (!chat || !conversation) return;
  const controller = chat;
  if (conversation.group) ui.peerName.textContent = conversation.label ?? 'Group';
  else ui.peerName.textContent = conversation.label ? `${conversation.label} · ${shortId(conversation.peerId)}` : conversation.peerId;
  ui.peerName.title = conversation.peerId;
  ui.safety.hidden = !!conversation.group;
  renderMembers(controller, conversation);
  ui.identityWarning.hidden = !conversation.identityChanged;
  ui.identityWarningText.textContent = `The safety number with ${conversationName(conversation)} has changed.`;
  ui.message.disabled = !!conversation.left;
  ui.message.placeholder = conversation.left ? 'You are not in this group any more' : 'Write a message';
  const now = Date.now();
  ui.messages.replaceChildren(
    ...conversation.messages.map((message) =>
      messageElement(
        message,
        now,
        () => void controller.retry(conversation, message),
        message.from === undefined ? undefined : controller.nameOf(message.from),
        files,
      ),
    ),
  );
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

/** The open group's members, admins marked; admins get Remove buttons, the add and rename forms. */
function renderMembers(controller: ChatController, conversation: Conversation): void {
  const group = controller.groupOf(conversation);
  ui.membersPanel.hidden = !conversation.group || group === undefined;
  if (!group) return;
  const admin = controller.isGroupAdmin(conversation);
  const self = controller.userId;
  ui.membersSummary.textContent = `Members (${group.members.length})`;
  ui.memberList.replaceChildren(
    ...group.members.map((member) =>
      memberElement(
        member,
        controller.nameOf(member),
        group.admins.includes(member),
        admin && member !== self ? () => groupAction(controller.removeGroupMember(member)) : undefined,
      ),
    ),
  );
  ui.addMembersForm.hidden = !admin;
  ui.renameForm.hidden = !admin;
}

function groupAction(call: Promise<void>): void {
  note(ui.groupStatus, '');
  call.then(
    () => note(ui.groupStatus, 'Done.'),
    (error: unknown) => note(ui.groupStatus, explain(error), true),
  );
}

/** The voice note being recorded, if any. */
let recorder: MediaRecorder | undefined;

/**
 * Starts recording a voice note from the microphone, or stops the one under way and hands it to `send` as a
 * file (`voice-note-<time>.webm`, or whatever container the browser records in).
 */
async function toggleRecording(send: (file: File) => void): Promise<void> {
  if (recorder) {
    recorder.stop();
    return;
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    ui.record.textContent = 'No microphone';
    setTimeout(() => (ui.record.textContent = 'Record'), 2000);
    return;
  }
  const parts: Blob[] = [];
  const current = new MediaRecorder(stream);
  recorder = current;
  current.addEventListener('dataavailable', (event) => parts.push(event.data));
  current.addEventListener('stop', () => {
    for (const track of stream.getTracks()) track.stop();
    recorder = undefined;
    ui.record.textContent = 'Record';
    ui.record.classList.remove('recording');
    const type = (current.mimeType || 'audio/webm').split(';')[0]!;
    const extension = type.split('/')[1] ?? 'webm';
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    send(new File(parts, `voice-note-${stamp}.${extension}`, { type }));
  });
  current.start();
  ui.record.textContent = 'Stop and send';
  ui.record.classList.add('recording');
}

function composeSettings(): { expiresInSeconds?: number; burnAfterReadingSeconds?: number } {
  return {
    ...(ui.expires.value && { expiresInSeconds: Number(ui.expires.value) }),
    ...(ui.burn.value && { burnAfterReadingSeconds: Number(ui.burn.value) }),
  };
}

/** Files of messages: object URLs of what this page sent or downloaded, and downloads under way, by message and index. */
const fileStates = new Map<string, FileState & { blob?: Blob }>();

const files: FilesView = {
  state(message, index) {
    const key = `${message.id}#${index}`;
    const known = fileStates.get(key);
    if (known) return known;
    const local = chat?.localFile(message, index);
    if (!local) return {};
    const state = { url: URL.createObjectURL(local), blob: local };
    fileStates.set(key, state);
    return state;
  },
  fetch(message, index) {
    void fetchFile(message, index);
  },
  save(message, index) {
    void fetchFile(message, index).then((blob) => blob && saveBlob(blob, message.attachments![index]!.name));
  },
};

/** Downloads a file of `message` once (a second call while it runs waits for the first), re-rendering as it goes. */
const fetching = new Map<string, Promise<Blob | undefined>>();
function fetchFile(message: ChatMessage, index: number): Promise<Blob | undefined> {
  const key = `${message.id}#${index}`;
  const known = fileStates.get(key);
  if (known?.blob) return Promise.resolve(known.blob);
  const running = fetching.get(key);
  if (running) return running;
  const attachment = message.attachments![index]!;
  let shownTenth = -1;
  fileStates.set(key, { progress: 0 });
  const download = (chat ? chat.download(attachment, progressOf) : Promise.reject(new Error('not connected')))
    .then(
      (blob) => {
        fileStates.set(key, { url: URL.createObjectURL(blob), blob });
        return blob;
      },
      (error: unknown) => {
        fileStates.set(key, { error: downloadError(error) });
        return undefined;
      },
    )
    .finally(() => {
      fetching.delete(key);
      renderChat();
    });
  fetching.set(key, download);
  renderChat();
  return download;

  function progressOf(share: number): void {
    if (Math.floor(share * 10) === shownTenth) return;
    shownTenth = Math.floor(share * 10);
    fileStates.set(key, { progress: share });
    renderChat();
  }
}

function downloadError(error: unknown): string {
  if (EbbError.is(error, 'NOT_FOUND')) return 'This file has expired.';
  if (EbbError.is(error) && error.reason === 'attachment-integrity') return 'This file was altered in storage and is not shown.';
  return explain(error);
}

function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function closeExport(): void {
  ui.passphrase.value = '';
  ui.passphraseAgain.value = '';
  ui.exportDialog.close();
}

function note(element: HTMLElement, text: string, error = false): void {
  element.textContent = text;
  element.title = text;
  element.classList.toggle('error', error);
}

function flash(button: HTMLButtonElement, text: string): void {
  const label = button.textContent;
  button.textContent = text;
  setTimeout(() => (button.textContent = label), 1500);
}

function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

void main().catch((error: unknown) => showConnection({ online: false, text: `The chat could not start. ${explain(error)}` }));
