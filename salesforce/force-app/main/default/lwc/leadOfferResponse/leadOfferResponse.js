// A partner rep's answer to an offered lead in one click: Accept, or Reject with a reason
// from the org's restricted picklist (Rejection_Reason_Code__c), with the offer's deadline
// counting down; and, once accepted, Hand back with a reason (a rejection the connector
// takes as the partner handing the lead back). The connector reads the answer from Partner_Response__c on its next poll;
// Rejection_Reason__c carries the reason as words ("No capacity", "Other: …") so the
// connector's reason text and the report name it without reading the code field.
// Whether the offer is still open, its countdown and the urgent style go by Salesforce's
// clock, never the rep's laptop's: see SECONDS_LEFT_FIELD.
import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue, updateRecord } from 'lightning/uiRecordApi';
import { getPicklistValues } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import USER_ID from '@salesforce/user/Id';
import ID_FIELD from '@salesforce/schema/Lead.Id';
import COMPANY_FIELD from '@salesforce/schema/Lead.Company';
import OWNER_FIELD from '@salesforce/schema/Lead.OwnerId';
import STATUS_FIELD from '@salesforce/schema/Lead.Routing_Status__c';
import DEADLINE_FIELD from '@salesforce/schema/Lead.Offer_Deadline__c';
import RESPONSE_FIELD from '@salesforce/schema/Lead.Partner_Response__c';
import REASON_CODE_FIELD from '@salesforce/schema/Lead.Rejection_Reason_Code__c';
import REASON_TEXT_FIELD from '@salesforce/schema/Lead.Rejection_Reason__c';
// why the lead is the team's, or why a pick-up or an answer was undone: the connector writes it
// for the partner's reps to read (it names no other partner)
import ROUTING_REASON_FIELD from '@salesforce/schema/Lead.Routing_Reason__c';

const FIELDS = [COMPANY_FIELD, OWNER_FIELD, STATUS_FIELD, DEADLINE_FIELD, RESPONSE_FIELD, REASON_CODE_FIELD,
    REASON_TEXT_FIELD, ROUTING_REASON_FIELD];
// The seconds left until Offer_Deadline__c by Salesforce's clock: a formula field,
// (Offer_Deadline__c - NOW()) * 86400, which Salesforce evaluates when it reads the record for
// us. A laptop clock 15 minutes fast would otherwise show the offer lapsed (no Accept) a quarter
// of an hour before it is, and one 15 minutes slow would offer Accept after it lapsed.
// Named as a string and asked for as an optional field, not imported from @salesforce/schema:
// an org that has not deployed the field (or a rep whose field-level security hides it) still
// deploys and loads the component, which then falls back to the browser's clock as before.
const SECONDS_LEFT_FIELD = 'Lead.Offer_Seconds_Left__c';
// orgs without Lead record types answer picklist values for the master record type
const MASTER_RECORD_TYPE = '012000000000000AAA';
const OTHER = 'Other';
const REASON_TEXT_MAX = 255; // Rejection_Reason__c is Text(255)
const QUEUE_PREFIX = '00G';
const TICK_MS = 1000;

// The browser's monotonic clock: it counts the time since the page opened and does not jump when
// the laptop's wall clock is set or corrected, as Date.now() does.
function monotonicNow() {
    return performance.now();
}

export function remainingText(ms) {
    // what the rep reads: hours and minutes, seconds only in the last ten minutes
    if (ms <= 0) {
        return '';
    }
    const totalSeconds = Math.floor(ms / 1000);
    const days = Math.floor(totalSeconds / 86400);
    const hours = Math.floor((totalSeconds % 86400) / 3600);
    const minutes = Math.floor((totalSeconds % 3600) / 60);
    const seconds = totalSeconds % 60;
    if (days > 0) {
        return `${days} d ${hours} h`;
    }
    if (hours > 0) {
        return `${hours} h ${String(minutes).padStart(2, '0')} min`;
    }
    if (minutes >= 10) {
        return `${minutes} min`;
    }
    return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
}

export function reasonText(code, details) {
    const words = (details || '').trim();
    const text = words ? `${code}: ${words}` : code;
    return text.length > REASON_TEXT_MAX ? text.slice(0, REASON_TEXT_MAX - 1) + '…' : text;
}

// A pool lead another member's rep took a moment earlier is theirs: Salesforce's sharing
// refuses the loser's save with this code, whose own words ("insufficient access rights on
// object id") read as a permission problem to fix rather than a race lost.
const TAKEN_FIRST = 'This lead was taken from the pool by another partner a moment ago: it is no longer offered to you.';
// A pushed offer that moved on while the page was open — it lapsed by Salesforce's clock (the
// rep's own may be behind), the partner was paused, a person set it Pending or took it over:
// the lead is no longer the rep's, and Salesforce refuses the save, or hides the lead.
const MOVED_ON = 'This lead is no longer offered to you: the offer lapsed or the lead was moved while this page was '
    + 'open. Reload the page to see your current leads.';
// what Salesforce answers a save of a record the user may no longer edit or see
const NOT_YOURS = ['INSUFFICIENT_ACCESS_OR_READONLY', 'NOT_FOUND', 'ENTITY_IS_DELETED'];

function errorList(error) {
    // uiRecordApi errors: body.message, with field/record errors under body.output; the UI
    // API's own answer is a list of {errorCode, message}, as the REST API's
    const body = (error && error.body) || {};
    if (Array.isArray(body)) {
        return { errors: body.filter(Boolean), fieldErrors: [], message: undefined };
    }
    const output = body.output || {};
    return {
        errors: [...(output.errors || []), ...(body.errorCode ? [body] : [])],
        fieldErrors: Object.values(output.fieldErrors || {}).flat(),
        message: body.message
    };
}

function refusedAccess(error) {
    return errorList(error).errors.some((e) => e && NOT_YOURS.includes(e.errorCode));
}

function errorMessage(error) {
    const { errors, fieldErrors, message } = errorList(error);
    const all = [...new Set([...errors, ...fieldErrors].map((e) => e && e.message).filter(Boolean))];
    if (all.length) {
        return all.join(' ');
    }
    return message || (error && error.message) || 'Unknown error';
}

export default class LeadOfferResponse extends LightningElement {
    @api recordId;

    record;
    loadError;
    reasonOptions = [];
    rejecting = false;
    reasonCode = '';
    details = '';
    saving = false;
    saveError;
    now = Date.now();
    tick = monotonicNow();
    // Salesforce's seconds left and the monotonic moment the record carrying them arrived; undefined
    // without the formula field. A record Lightning Data Service serves from its cache counts from
    // when it arrived here, not when Salesforce read it: it shows as much more time as the record
    // sat in that cache (LDS keeps records only briefly before reading them again).
    serverCount;
    timer;

    @wire(getRecord, { recordId: '$recordId', fields: FIELDS, optionalFields: [SECONDS_LEFT_FIELD] })
    wiredLead({ data, error }) {
        if (data) {
            this.record = data;
            this.loadError = undefined;
            const secondsLeft = getFieldValue(data, SECONDS_LEFT_FIELD);
            this.tick = monotonicNow();
            this.serverCount = typeof secondsLeft === 'number'
                ? { msLeft: secondsLeft * 1000, at: this.tick }
                : undefined;
        } else if (error) {
            this.loadError = errorMessage(error);
        }
    }

    @wire(getPicklistValues, { recordTypeId: MASTER_RECORD_TYPE, fieldApiName: REASON_CODE_FIELD })
    wiredReasons({ data }) {
        if (data) {
            this.reasonOptions = data.values.map((v) => ({ label: v.label, value: v.value }));
        }
    }

    connectedCallback() {
        this.timer = setInterval(() => {
            this.now = Date.now();
            this.tick = monotonicNow();
        }, TICK_MS);
    }

    disconnectedCallback() {
        clearInterval(this.timer);
    }

    field(f) {
        return this.record ? getFieldValue(this.record, f) : undefined;
    }

    get company() {
        return this.field(COMPANY_FIELD);
    }

    get deadline() {
        const raw = this.field(DEADLINE_FIELD);
        return raw ? new Date(raw).getTime() : undefined;
    }

    get response() {
        return this.field(RESPONSE_FIELD);
    }

    get loaded() {
        return Boolean(this.record);
    }

    get msLeft() {
        if (this.deadline === undefined) {
            return undefined;
        }
        if (this.serverCount) {
            return this.serverCount.msLeft - (this.tick - this.serverCount.at);
        }
        // no formula field in this org: the browser's clock, right only while the laptop's is
        return this.deadline - this.now;
    }

    get lapsed() {
        return this.msLeft !== undefined && this.msLeft <= 0;
    }

    get open() {
        return this.field(STATUS_FIELD) === 'Offered' && !this.response && !this.lapsed;
    }

    get notOffered() {
        return this.loaded && !this.open && !this.response && !this.lapsed;
    }

    get lapsedNotAnswered() {
        return this.loaded && this.lapsed && !this.response && this.field(STATUS_FIELD) === 'Offered';
    }

    get statusText() {
        return this.field(STATUS_FIELD) || 'not routed';
    }

    get accepted() {
        // answered Accepted here, or taken from a pool with Salesforce's own Accept (the rep
        // became the owner, no answer in the field): either way the team's to hand back
        return this.response === 'Accepted'
            || (!this.response && this.field(STATUS_FIELD) === 'Accepted' && this.field(OWNER_FIELD) === USER_ID);
    }

    get rejected() {
        return this.response === 'Rejected';
    }

    get routingReason() {
        return this.field(ROUTING_REASON_FIELD) || '';
    }

    get rejectionText() {
        return this.field(REASON_TEXT_FIELD) || this.field(REASON_CODE_FIELD) || '';
    }

    get countdown() {
        return this.msLeft === undefined ? '' : remainingText(this.msLeft);
    }

    get hasCountdown() {
        return this.open && this.deadline !== undefined;
    }

    get deadlineIso() {
        return this.deadline === undefined ? undefined : new Date(this.deadline).toISOString();
    }

    get urgent() {
        return this.msLeft !== undefined && this.msLeft < 60 * 60 * 1000;
    }

    get countdownClass() {
        return this.urgent ? 'countdown slds-text-color_error' : 'countdown';
    }

    get detailsRequired() {
        return this.reasonCode === OTHER;
    }

    get detailsLabel() {
        return this.detailsRequired ? 'Tell us why (required with Other)' : 'Details (optional)';
    }

    get confirmDisabled() {
        return this.saving || !this.reasonCode || (this.detailsRequired && !this.details.trim());
    }

    get buttonsDisabled() {
        return this.saving;
    }

    handleAccept() {
        const fields = {
            [ID_FIELD.fieldApiName]: this.recordId,
            [RESPONSE_FIELD.fieldApiName]: 'Accepted',
            [REASON_CODE_FIELD.fieldApiName]: null,
            [REASON_TEXT_FIELD.fieldApiName]: null
        };
        // a pool (queue) lead becomes the accepting rep's, as Salesforce's own Accept does
        const owner = this.field(OWNER_FIELD);
        const fromPool = Boolean(owner && owner.startsWith(QUEUE_PREFIX));
        if (fromPool) {
            fields[OWNER_FIELD.fieldApiName] = USER_ID;
        }
        return this.save(fields, 'Lead accepted', `${this.company} is yours: contact them soon.`, fromPool);
    }

    handleRejectStart() {
        this.rejecting = true;
        this.saveError = undefined;
    }

    handleRejectCancel() {
        this.rejecting = false;
        this.reasonCode = '';
        this.details = '';
    }

    handleReasonChange(event) {
        this.reasonCode = event.detail.value;
    }

    handleDetailsChange(event) {
        this.details = event.detail.value || '';
    }

    handleRejectConfirm() {
        return this.saveRejection('Lead rejected');
    }

    handleHandBackConfirm() {
        // the rep changes their mind about a lead their team accepted: a rejection with a reason,
        // which the connector takes as the partner handing the lead back (it goes to the next
        // partner, and this one is not offered it again)
        return this.saveRejection('Lead handed back');
    }

    saveRejection(title) {
        if (this.confirmDisabled) {
            return undefined;
        }
        const fields = {
            [ID_FIELD.fieldApiName]: this.recordId,
            [RESPONSE_FIELD.fieldApiName]: 'Rejected',
            [REASON_CODE_FIELD.fieldApiName]: this.reasonCode,
            [REASON_TEXT_FIELD.fieldApiName]: reasonText(this.reasonCode, this.details)
        };
        return this.save(fields, title, 'Thanks: the lead goes to the next partner.');
    }

    async save(fields, title, message, fromPool = false) {
        this.saving = true;
        this.saveError = undefined;
        try {
            await updateRecord({ fields });
            this.rejecting = false;
            this.dispatchEvent(new ShowToastEvent({ title, message, variant: 'success' }));
        } catch (error) {
            if (refusedAccess(error)) {
                this.saveError = fromPool ? TAKEN_FIRST : MOVED_ON;
            } else {
                this.saveError = errorMessage(error);
            }
        } finally {
            this.saving = false;
        }
    }
}
