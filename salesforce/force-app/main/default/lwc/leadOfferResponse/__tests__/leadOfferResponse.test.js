import { createElement } from 'lwc';
import LeadOfferResponse, { remainingText, reasonText } from 'c/leadOfferResponse';
import { getRecord, updateRecord } from 'lightning/uiRecordApi';
import { getPicklistValues } from 'lightning/uiObjectInfoApi';
// the contract with the connector: tests/jobs/test_portal_answer_e2e.py sends the same fields
const ANSWERS = require('./data/answers.json');

// A fixed instant: the countdown never depends on the day the tests run.
const NOW = new Date('2030-03-29T22:30:00.000Z').getTime();
const MINUTE = 60 * 1000;
const LEAD_ID = '00Q5g0000000001EAA';
const USER = '005000000000000000'; // @salesforce/user/Id under sfdx-lwc-jest
const REASONS = ['Out of territory', 'No capacity', 'Not our product/industry', 'Existing customer', 'Bad data',
    'Other'];

// deadlineIn: from Salesforce's now (NOW); secondsLeft: Offer_Seconds_Left__c as Salesforce
// evaluated it when the record was read (by default the same instant), or NO_FIELD for an org
// that did not deploy the formula field (getRecord leaves an optional field out)
const NO_FIELD = Symbol('no Offer_Seconds_Left__c');

function lead({ status = 'Offered', deadlineIn = 125 * MINUTE, response = null, owner = '0055g0000000009AAA',
    code = null, text = null, reason = null, secondsLeft = deadlineIn === null ? null : deadlineIn / 1000 } = {}) {
    const value = (v) => ({ value: v, displayValue: v });
    const record = {
        id: LEAD_ID,
        fields: {
            Company: value('Acme Robotics GmbH'),
            OwnerId: value(owner),
            Routing_Status__c: value(status),
            Offer_Deadline__c: value(deadlineIn === null ? null : new Date(NOW + deadlineIn).toISOString()),
            Partner_Response__c: value(response),
            Rejection_Reason_Code__c: value(code),
            Rejection_Reason__c: value(text),
            Routing_Reason__c: value(reason)
        }
    };
    if (secondsLeft !== NO_FIELD) {
        record.fields.Offer_Seconds_Left__c = { value: secondsLeft, displayValue: null };
    }
    return record;
}

function mount(record) {
    const element = createElement('c-lead-offer-response', { is: LeadOfferResponse });
    element.recordId = LEAD_ID;
    document.body.appendChild(element);
    getRecord.emit(record);
    getPicklistValues.emit({ values: REASONS.map((r) => ({ label: r, value: r })) });
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);
const settle = () => Promise.resolve().then(() => Promise.resolve());

async function click(element, selector) {
    $(element, selector).click();
    await settle();
}

async function choose(element, selector, value) {
    $(element, selector).dispatchEvent(new CustomEvent('change', { detail: { value } }));
    await settle();
}

beforeEach(() => {
    jest.useFakeTimers();
    jest.setSystemTime(NOW);
});

afterEach(() => {
    while (document.body.firstChild) {
        document.body.removeChild(document.body.firstChild);
    }
    jest.clearAllMocks();
    jest.useRealTimers();
});

describe('the deadline counts down', () => {
    it('shows hours and minutes left, and goes on counting', async () => {
        const element = mount(lead({ deadlineIn: 125 * MINUTE }));
        await settle();
        expect($(element, '.countdown strong').textContent).toBe('2 h 05 min');
        jest.advanceTimersByTime(66 * MINUTE);
        await settle();
        expect($(element, '.countdown strong').textContent).toBe('59 min');
        expect($(element, '.countdown').classList).toContain('slds-text-color_error');
    });

    it('shows seconds in the last ten minutes', async () => {
        const element = mount(lead({ deadlineIn: 9 * MINUTE + 5000 }));
        await settle();
        expect($(element, '.countdown strong').textContent).toBe('9 min 05 s');
    });

    it('says the offer lapsed and offers no buttons once the deadline passes', async () => {
        const element = mount(lead({ deadlineIn: 30 * 1000 }));
        await settle();
        expect($(element, '.accept')).not.toBeNull();
        jest.advanceTimersByTime(31 * 1000);
        await settle();
        expect($(element, '.accept')).toBeNull();
        expect($(element, '.lapsed').textContent).toContain('lapsed without an answer');
    });

    it('formats days, hours, minutes and seconds the way a rep reads them', () => {
        expect(remainingText(26 * 60 * MINUTE)).toBe('1 d 2 h');
        expect(remainingText(61 * MINUTE)).toBe('1 h 01 min');
        expect(remainingText(10 * MINUTE)).toBe('10 min');
        expect(remainingText(59 * 1000)).toBe('0 min 59 s');
        expect(remainingText(0)).toBe('');
    });
});

// Salesforce's clock is the truth, never the rep's laptop: the component counts down from
// Offer_Seconds_Left__c (a formula Salesforce evaluates when the record is read) with the
// browser's monotonic timer, so a laptop clock 15 minutes off shows the offer as it stands.
describe('the countdown follows Salesforce\'s clock, not the browser\'s', () => {
    const FAST = 15 * MINUTE;

    it('asks for the seconds left as an optional field, so an org without it still loads the lead', async () => {
        mount(lead());
        await settle();
        const config = getRecord.getLastConfig();
        expect(config.optionalFields).toContain('Lead.Offer_Seconds_Left__c');
        expect(config.fields.map((f) => f.fieldApiName || f)).not.toContain('Offer_Seconds_Left__c');
    });

    it('keeps the offer open for a rep whose clock runs 15 minutes fast', async () => {
        jest.setSystemTime(NOW + FAST);
        const element = mount(lead({ deadlineIn: 10 * MINUTE }));
        await settle();
        expect($(element, '.accept')).not.toBeNull();
        expect($(element, '.lapsed')).toBeNull();
        expect($(element, '.countdown strong').textContent).toBe('10 min');
        jest.advanceTimersByTime(9 * MINUTE);
        await settle();
        expect($(element, '.countdown strong').textContent).toBe('1 min 00 s');
        jest.advanceTimersByTime(61 * 1000);
        await settle();
        expect($(element, '.accept')).toBeNull();
        expect($(element, '.lapsed')).not.toBeNull();
    });

    it('shows the offer lapsed to a rep whose clock runs 15 minutes slow', async () => {
        jest.setSystemTime(NOW - FAST);
        const element = mount(lead({ deadlineIn: -5 * MINUTE }));
        await settle();
        expect($(element, '.accept')).toBeNull();
        expect($(element, '.lapsed').textContent).toContain('lapsed without an answer');
    });

    it('marks the last hour urgent by Salesforce\'s count, whichever way the rep\'s clock is off', async () => {
        jest.setSystemTime(NOW - FAST);
        let element = mount(lead({ deadlineIn: 50 * MINUTE }));
        await settle();
        expect($(element, '.countdown strong').textContent).toBe('50 min');
        expect($(element, '.countdown').classList).toContain('slds-text-color_error');
        element.remove();
        jest.setSystemTime(NOW + FAST);
        element = mount(lead({ deadlineIn: 70 * MINUTE }));
        await settle();
        expect($(element, '.countdown strong').textContent).toBe('1 h 10 min');
        expect($(element, '.countdown').classList).not.toContain('slds-text-color_error');
    });

    it('goes on counting when the laptop\'s clock is set while the page is open', async () => {
        const element = mount(lead({ deadlineIn: 10 * MINUTE }));
        await settle();
        jest.setSystemTime(NOW + 60 * MINUTE); // the wall clock jumps an hour; no time passed
        jest.advanceTimersByTime(1000);
        await settle();
        expect($(element, '.countdown strong').textContent).toBe('9 min 59 s');
        expect($(element, '.accept')).not.toBeNull();
    });

    it('counts from Salesforce\'s new figure when the record is read again', async () => {
        const element = mount(lead({ deadlineIn: 10 * MINUTE }));
        await settle();
        jest.advanceTimersByTime(2 * MINUTE);
        getRecord.emit(lead({ deadlineIn: 10 * MINUTE, secondsLeft: 5 * 60 }));
        await settle();
        expect($(element, '.countdown strong').textContent).toBe('5 min 00 s');
    });

    it('shows the deadline itself as Salesforce stores it', async () => {
        jest.setSystemTime(NOW + FAST);
        const element = mount(lead({ deadlineIn: 10 * MINUTE }));
        await settle();
        const shown = $(element, 'lightning-formatted-date-time');
        expect(shown.value).toBe(new Date(NOW + 10 * MINUTE).toISOString());
    });

    it('falls back to the browser\'s clock in an org without the formula field', async () => {
        jest.setSystemTime(NOW + FAST);
        let element = mount(lead({ deadlineIn: 20 * MINUTE, secondsLeft: NO_FIELD }));
        await settle();
        expect($(element, '.countdown strong').textContent).toBe('5 min 00 s');
        element.remove();
        element = mount(lead({ deadlineIn: 10 * MINUTE, secondsLeft: NO_FIELD }));
        await settle();
        expect($(element, '.accept')).toBeNull();
        expect($(element, '.lapsed')).not.toBeNull();
    });
});

describe('accepting', () => {
    it('writes Accepted and clears any earlier reason', async () => {
        const element = mount(lead());
        await settle();
        await click(element, '.accept');
        expect(updateRecord).toHaveBeenCalledTimes(1);
        expect(updateRecord.mock.calls[0][0]).toEqual({ fields: { Id: LEAD_ID, ...ANSWERS.accept } });
    });

    it('takes a pool lead into the rep\'s own name, as Salesforce\'s Accept does', async () => {
        const element = mount(lead({ owner: '00G5g0000000004AAA' }));
        await settle();
        await click(element, '.accept');
        const fields = updateRecord.mock.calls[0][0].fields;
        expect(fields.OwnerId).toMatch(/^005/);
    });

    it('shows why a save failed, in Salesforce\'s words', async () => {
        updateRecord.mockRejectedValueOnce({ body: { message: 'An error occurred', output: { errors: [
            { message: 'insufficient access rights on object id' }] } } });
        const element = mount(lead());
        await settle();
        await click(element, '.accept');
        await settle();
        expect($(element, '.save-error').textContent).toContain('insufficient access rights on object id');
    });

    it('tells the rep who lost a race for a pool lead that another partner took it first', async () => {
        // Salesforce's sharing: the lead is the winner's rep's now, the loser may not save it
        updateRecord.mockRejectedValueOnce({ body: { message: 'An error occurred', output: { errors: [
            { errorCode: 'INSUFFICIENT_ACCESS_OR_READONLY', message: 'insufficient access rights on object id' }] } } });
        const element = mount(lead({ owner: '00G5g0000000004AAA' }));
        await settle();
        await click(element, '.accept');
        await settle();
        expect($(element, '.save-error').textContent).toContain('taken from the pool by another partner');
    });

    // The UI API answers a refused save with a list of errors as its body, as the REST API
    // does ([{errorCode, message}]); the sandbox answers so too (tests/sandbox/test_ui_api.py).
    it('shows Salesforce\'s words when the error body is the UI API\'s list of errors', async () => {
        updateRecord.mockRejectedValueOnce({ status: 400, body: [
            { errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Leads in Germany need a postal code' }] });
        const element = mount(lead());
        await settle();
        await click(element, '.accept');
        await settle();
        expect($(element, '.save-error').textContent).toContain('Leads in Germany need a postal code');
        expect($(element, '.save-error').textContent).not.toContain('Unknown error');
    });

    it('tells the rep whose offer moved on while the page was open that the lead is no longer theirs', async () => {
        // the offer lapsed by Salesforce's clock (the rep's own clock is behind), the partner was
        // paused or a person set Pending: the lead went on, and the rep may no longer see it
        updateRecord.mockRejectedValueOnce({ status: 404, body: [
            { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }] });
        const element = mount(lead());
        await settle();
        await click(element, '.accept');
        await settle();
        const said = $(element, '.save-error').textContent;
        expect(said).toContain('no longer offered to you');
        expect(said).not.toContain('The requested resource does not exist');
    });

    it('tells the rep who lost a pool race that another partner took it, when the lead is hidden from them', async () => {
        updateRecord.mockRejectedValueOnce({ status: 404, body: [
            { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }] });
        const element = mount(lead({ owner: '00G5g0000000004AAA' }));
        await settle();
        await click(element, '.accept');
        await settle();
        expect($(element, '.save-error').textContent).toContain('taken from the pool by another partner');
    });

    it('tells the rep whose rejection came too late that the lead is no longer theirs', async () => {
        updateRecord.mockRejectedValueOnce({ body: { message: 'An error occurred', output: { errors: [
            { errorCode: 'INSUFFICIENT_ACCESS_OR_READONLY', message: 'insufficient access rights on object id' }] } } });
        const element = mount(lead());
        await settle();
        await click(element, '.reject');
        await choose(element, '.reason', 'No capacity');
        await click(element, '.confirm-reject');
        await settle();
        expect($(element, '.save-error').textContent).toContain('no longer offered to you');
    });
});

describe('rejecting', () => {
    it('offers the reasons from the restricted picklist', async () => {
        const element = mount(lead());
        await settle();
        await click(element, '.reject');
        expect($(element, '.reason').options.map((o) => o.value)).toEqual(REASONS);
    });

    it('cannot be confirmed without a reason', async () => {
        const element = mount(lead());
        await settle();
        await click(element, '.reject');
        expect($(element, '.confirm-reject').disabled).toBe(true);
        await choose(element, '.reason', 'No capacity');
        expect($(element, '.confirm-reject').disabled).toBe(false);
    });

    it('writes the reason code and the reason in words', async () => {
        const element = mount(lead());
        await settle();
        await click(element, '.reject');
        const answer = ANSWERS.reject_out_of_territory;
        await choose(element, '.reason', answer.fields.Rejection_Reason_Code__c);
        await choose(element, '.details', answer.details);
        await click(element, '.confirm-reject');
        expect(updateRecord.mock.calls[0][0]).toEqual({ fields: { Id: LEAD_ID, ...answer.fields } });
    });

    it('needs words with Other', async () => {
        const element = mount(lead());
        await settle();
        await click(element, '.reject');
        await choose(element, '.reason', 'Other');
        expect($(element, '.details').required).toBe(true);
        expect($(element, '.confirm-reject').disabled).toBe(true);
        await choose(element, '.details', '   ');
        expect($(element, '.confirm-reject').disabled).toBe(true);
        await choose(element, '.details', 'Duplicate of a lead we already work');
        expect($(element, '.confirm-reject').disabled).toBe(false);
    });

    it('can be cancelled without writing anything', async () => {
        const element = mount(lead());
        await settle();
        await click(element, '.reject');
        await click(element, '.cancel-reject');
        expect($(element, '.accept')).not.toBeNull();
        expect(updateRecord).not.toHaveBeenCalled();
    });

    it('keeps the reason within the 255 characters of Rejection_Reason__c', () => {
        const text = reasonText('Other', 'x'.repeat(400));
        expect(text.length).toBe(255);
        expect(text.endsWith('…')).toBe(true);
        expect(reasonText('Bad data', '  ')).toBe('Bad data');
    });
});

describe('a lead that is not waiting for an answer', () => {
    it('shows the answer already given', async () => {
        const element = mount(lead({ response: 'Rejected', code: 'No capacity', text: 'No capacity' }));
        await settle();
        expect($(element, '.accept')).toBeNull();
        expect($(element, '.answered').textContent).toBe('You rejected this lead: No capacity.');
    });

    it('says so when the lead is not offered', async () => {
        const element = mount(lead({ status: 'Accepted', deadlineIn: null }));
        await settle();
        expect($(element, '.accept')).toBeNull();
        expect($(element, '.not-offered').textContent).toContain('routing status: Accepted');
    });
});

// The rep changes their mind: an accepted lead is handed back with a reason, which the
// connector takes as a rejection (docs/LIFECYCLE.md: accepted × reject) and offers the lead on.
describe('handing an accepted lead back', () => {
    const accepted = () => lead({ status: 'Accepted', response: 'Accepted', deadlineIn: null });

    it('is offered to the rep of an accepted lead', async () => {
        const element = mount(accepted());
        await settle();
        expect($(element, '.answered').textContent).toContain('You accepted this lead.');
        expect($(element, '.hand-back')).not.toBeNull();
        expect($(element, '.accept')).toBeNull();
    });

    it('writes a rejection with the reason code and the reason in words', async () => {
        const element = mount(accepted());
        await settle();
        await click(element, '.hand-back');
        const answer = ANSWERS.hand_back_no_capacity;
        expect($(element, '.reason').options.map((o) => o.value)).toEqual(REASONS);
        expect($(element, '.confirm-reject').disabled).toBe(true);
        await choose(element, '.reason', answer.fields.Rejection_Reason_Code__c);
        await choose(element, '.details', answer.details);
        await click(element, '.confirm-reject');
        expect(updateRecord.mock.calls[0][0]).toEqual({ fields: { Id: LEAD_ID, ...answer.fields } });
    });

    it('can be cancelled without writing anything', async () => {
        const element = mount(accepted());
        await settle();
        await click(element, '.hand-back');
        await click(element, '.cancel-reject');
        expect($(element, '.hand-back')).not.toBeNull();
        expect(updateRecord).not.toHaveBeenCalled();
    });

    it('is offered to the rep who took a pool lead with Salesforce\'s own Accept (no answer in the field)', async () => {
        // the queue's Accept button (or a list view's) only makes the rep the owner; the
        // connector settles the lead Accepted all the same
        const element = mount(lead({ status: 'Accepted', response: null, owner: USER, deadlineIn: null }));
        await settle();
        expect($(element, '.hand-back')).not.toBeNull();
        await click(element, '.hand-back');
        await choose(element, '.reason', 'Existing customer');
        await click(element, '.confirm-reject');
        expect(updateRecord.mock.calls[0][0].fields).toEqual({ Id: LEAD_ID, Partner_Response__c: 'Rejected',
            Rejection_Reason_Code__c: 'Existing customer', Rejection_Reason__c: 'Existing customer' });
    });

    it('is not offered once the lead is handed back or was never accepted', async () => {
        let element = mount(lead({ status: 'Accepted', response: 'Rejected', code: 'No capacity', text: 'No capacity',
            deadlineIn: null }));
        await settle();
        expect($(element, '.hand-back')).toBeNull();
        element.remove();
        element = mount(lead({ status: 'Released', response: null, deadlineIn: null }));
        await settle();
        expect($(element, '.hand-back')).toBeNull();
    });
});

// The Lead's Routing_Reason__c is written to be read by the partner's reps (it names no other
// partner): why the lead is theirs, and why a pick-up or an answer was undone. Without it a rep
// whose pick-up was put back saw the lead offered again with nothing said.
describe('why', () => {
    it('shows why the lead is offered to the team', async () => {
        const reason = 'Covering partner, fair rotation: Acme Partners GmbH — round robin; 4 eligible';
        const element = mount(lead({ reason }));
        await settle();
        expect($(element, '.why').textContent).toContain(reason);
    });

    it('shows why a pick-up was undone when the lead is back in the pool', async () => {
        const reason = 'a pick-up by a partner barred from this lead (it rejected it or let it lapse before) was '
            + 'undone; back in the pool for the other partners';
        const element = mount(lead({ owner: '00G5g0000000004AAA', reason }));
        await settle();
        expect($(element, '.accept')).not.toBeNull();
        expect($(element, '.why').textContent).toContain('was undone');
    });

    it('shows why a lead is no longer waiting for an answer', async () => {
        const reason = 'taken over by a person: owner set to Dana Admin at 2030-03-29 21:00 UTC';
        const element = mount(lead({ status: 'Released', deadlineIn: null, reason }));
        await settle();
        expect($(element, '.not-offered')).not.toBeNull();
        expect($(element, '.why').textContent).toContain('taken over by a person');
    });

    it('shows nothing more when the Lead gives no reason', async () => {
        const element = mount(lead());
        await settle();
        expect($(element, '.why')).toBeNull();
    });
});
