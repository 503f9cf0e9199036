// Problems (RFC 9457, as the API answers every error) turned into words for people.
import type { Problem } from './api/client';
import { networkProblem } from './api/client';

/** Result is what an API call gives the screens: the data, or a problem. */
export type Result<T> = { data: T; error?: undefined } | { data?: undefined; error: Problem };

/**
 * call awaits an openapi-fetch request and returns its data or its problem; a network failure or
 * an answer that is not a problem becomes a problem too, so screens handle one shape.
 */
export async function call<T>(req: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<Result<T>> {
  try {
    const { data, error, response } = await req;
    if (response.ok) return { data: data as T };
    const e = error as Partial<Problem> | undefined;
    if (e && typeof e === 'object' && typeof e.code === 'string') return { error: e as Problem };
    return {
      error: { type: 'about:blank', title: response.statusText, status: response.status, code: 'internal', detail: `The API answered ${response.status} ${response.statusText}.` },
    };
  } catch (err) {
    return { error: networkProblem(err) };
  }
}

/** fieldErrors maps each field the problem names (errors[]) to its message(s). */
export function fieldErrors(p?: Problem | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of p?.errors ?? []) {
    out[e.field] = out[e.field] ? `${out[e.field]}; ${e.message}` : e.message;
  }
  return out;
}

function list(xs: string[]): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/**
 * describe says what went wrong in words, for the message next to a form or row. Field errors
 * are shown next to their fields; describe names the problem as a whole.
 */
export function describe(p: Problem): string {
  switch (p.code) {
    case 'validation_failed': {
      const general = (p.errors ?? []).filter((e) => !e.field).map((e) => e.message);
      return general.length ? general.join('; ') : 'Some fields need attention: see the messages next to them.';
    }
    case 'last_recipient': {
      const types = p.emailTypes ?? [];
      return types.length
        ? `Refused: ${list(types.map((t) => `“${t}”`))} email would have no recipient left. Every required email type needs at least one recipient (the owner or a contact): let someone else receive ${types.length > 1 ? 'them' : 'it'} first.`
        : `Refused: an email type would have no recipient left. ${p.detail ?? ''}`;
    }
    case 'contact_email_taken':
      return 'A contact with this email already exists in this account.';
    case 'role_taken':
      return `The ${p.role ?? 'role'} role is already held on this site by another contact.`;
    case 'support_case_required':
      return p.detail ?? 'Partner accounts cannot add contacts themselves: raise a support case and an operator will add them.';
    case 'email_belongs_to_user':
      return 'This email belongs to a user of the account; the owner and the users must have different emails.';
    case 'email_undeliverable':
      return `Email to this address bounced or was marked as spam${p.emailStatus?.reason ? ` (${p.emailStatus.reason})` : ''}: check the address with the person first, or send anyway.`;
    case 'invitation_pending':
      return 'There is already a pending invitation for this email: resend it from the list below, or revoke it first.';
    case 'already_member':
      return 'You are already a member of this account with this login.';
    case 'invitation_expired':
      return 'This invitation has expired. Ask the person who invited you to resend it; the new email will have a fresh link.';
    case 'invitation_revoked':
      return 'This invitation was revoked, so the link no longer works. Ask the account owner for a new invitation if you still need access.';
    case 'invitation_already_accepted':
      return 'This invitation has already been used: each link works once. If it was you, open your accounts; otherwise ask the owner for a new invitation.';
    case 'invalid_token':
      return 'This link is not valid: it may have been replaced by a newer email (each resend replaces the previous link) or copied incompletely. Use the link in the latest email, or ask for a new invitation.';
    case 'resend_too_soon':
      return `This invitation was sent moments ago; try again in ${p.retryAfterSeconds ?? 60} seconds.`;
    case 'too_many_requests':
      return `Too many requests; try again in ${p.retryAfterSeconds ?? 'a few'} seconds.`;
    case 'not_admin_eligible':
      return `Only a user whose contact holds an admin-eligible role (${list(p.eligibleRoles ?? ['Primary', 'Secondary'])}) on a site can be an admin.`;
    case 'owner_protected':
      return p.detail ?? 'The owner cannot be changed or removed this way; transfer ownership first.';
    case 'precondition_failed':
      return 'Someone else changed this in the meantime. Reload to see their change, then make yours again.';
    case 'not_found':
      return p.detail ? `Not found: ${p.detail}.` : 'Not found, or you have no access to it.';
    case 'forbidden':
      return p.detail ?? 'You do not have the permission this needs.';
    case 'unauthorized':
      return 'Your sign-in has expired: sign in again.';
    default:
      return p.detail ?? p.title ?? 'Something went wrong.';
  }
}
