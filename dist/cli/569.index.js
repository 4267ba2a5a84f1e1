export const id = 569;
export const ids = [569];
export const modules = {

/***/ 569:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   sendEmail: () => (/* binding */ sendEmail)
/* harmony export */ });
/* harmony import */ var nodemailer__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6739);
/* harmony import */ var _event_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(217);
// E-mail over SMTP with nodemailer: `smtp://user:pass@host:587/?to=a@x,b@y&from=…`
// (STARTTLS when the server offers it) or `smtps://…:465/…` (TLS from the start).


async function sendEmail(rawUrl, event) {
    const url = new URL(rawUrl);
    const to = url.searchParams.get('to');
    if (!to)
        throw new Error("the smtp URL has no '?to=' recipient");
    const from = url.searchParams.get('from') ?? `backup-drill <backup-drill@${event.host}>`;
    url.search = '';
    const transport = nodemailer__WEBPACK_IMPORTED_MODULE_0__/* ["default"].createTransport */ .Ay.createTransport(url.toString());
    try {
        await transport.sendMail({
            from,
            to,
            subject: `[backup-drill] ${(0,_event_js__WEBPACK_IMPORTED_MODULE_1__/* .title */ .DD)(event)}`,
            text: (0,_event_js__WEBPACK_IMPORTED_MODULE_1__/* .plainText */ .wh)(event),
            headers: { 'X-Backup-Drill-Status': event.status },
        });
    }
    finally {
        transport.close();
    }
}


/***/ })

};
