// The console's own words in each desk language. Hotline messages come rendered by the
// server (gettext catalogues); these are only the labels around them.
const STRINGS = {
  en: {
    "title": "Deconfliction console", "skip": "Skip to the workspace", "party": "Party", "desk": "Desk",
    "credential": "Credential", "language": "Language", "utc": "UTC", "signout": "Sign out",
    "signin-title": "Sign in with your party's credential",
    "signin-hint": "The client id and secret your administrator issued (deconfliction admin credential create).",
    "client-id": "Client id", "client-secret": "Secret", "signin": "Sign in",
    "operations": "Operations", "conflicts": "Conflicts", "hotline": "Hotline", "alerts": "Alerts", "records": "Records",
    "map-time": "Map time (UTC)", "now": "Now", "all-times": "Whole day",
    "live": "live", "reconnecting": "reconnecting…", "offline-state": "not connected",
    "file-new": "File an operation", "import": "Import GeoJSON", "no-operations": "No operations filed.",
    "state": "State", "version": "version", "accept": "Accept", "activate": "Activate", "end": "End", "cancel": "Cancel",
    "show": "Show on map", "no-conflicts": "No conflicts.", "with": "with", "first-overlap": "first overlap",
    "starts-in": "starts in", "started": "under way", "acknowledged-by-us": "we acknowledged their version",
    "not-acknowledged-by-us": "we have not acknowledged their version", "acknowledged-by-them": "they acknowledged ours",
    "not-acknowledged-by-them": "they have not acknowledged ours", "acknowledge": "Acknowledge",
    "visibility": "visibility", "region-hidden": "region not disclosed at this visibility", "lead": "lead time",
    "late-for": "late for", "inbox": "Inbox", "sent": "Sent", "compose": "Compose", "send": "Send",
    "to": "To", "class": "Class", "template": "Template", "annex": "Annex (free text, not translated)",
    "original": "Original (data)", "ack": "Acknowledge", "ack-hash": "geometry hash", "receipt-due": "receipt due",
    "ack-due": "acknowledgement due", "overdue": "overdue", "no-messages": "No messages.",
    "stop-received": "STOP / ABORT received", "open": "Open", "line": "Line", "suspended": "suspended",
    "suspend": "Suspend line", "resume": "Resume line", "escalations": "Escalations",
    "no-alerts": "No alerts.", "export-audit": "Export audit chain (JSON)", "export-conflicts": "Export the day's conflicts (JSON)",
    "print": "Print the day's plan and conflicts", "day": "Day (UTC)",
    "id": "Id", "kind": "Footprint", "polygon": "Polygon", "circle": "Circle", "corridor": "Corridor",
    "racetrack": "Orbit (racetrack)", "arc_sector": "Arc sector", "draw-hint": "Click on the map to place points; the last click sets the last point.",
    "points": "Points (lon lat, one a line)", "radius": "Radius", "width": "Width", "inner-radius": "Inner radius",
    "outer-radius": "Outer radius", "start-bearing": "Start bearing (°)", "end-bearing": "End bearing (°)",
    "lower": "Lower", "upper": "Upper", "units": "Units", "datum": "Datum", "start": "Start (UTC)", "end-time": "End (UTC)",
    "priority": "Priority", "purpose": "Purpose (never shared)", "file": "File", "clear": "Clear points",
    "awareness-title": "Proof of awareness", "awareness-hint": "Activation needs an acknowledgement of each conflicting operation's current version:",
    "signing-key": "Signing key (PEM, Ed25519), if your party registered one", "close": "Close", "activate-now": "Activate now",
    "filed": "Filed", "done": "Done", "error": "Error", "conflict": "Conflict", "action": "Action",
    "stop-banner": "STOP / ABORT from", "message": "Message", "tier": "tier", "band": "Cite the overlap's altitude band", "policy-min": "agreed minimum", "inside-lead": "inside the agreed notice", "escalated": "escalated",
  },
  ru: {
    "title": "Консоль деконфликтинга", "skip": "Перейти к рабочей области", "party": "Сторона", "desk": "Пост",
    "credential": "Учётные данные", "language": "Язык", "utc": "UTC", "signout": "Выйти",
    "signin-title": "Вход по учётным данным стороны",
    "signin-hint": "Идентификатор клиента и секрет, выданные администратором.",
    "client-id": "Идентификатор клиента", "client-secret": "Секрет", "signin": "Войти",
    "operations": "Операции", "conflicts": "Конфликты", "hotline": "Горячая линия", "alerts": "Оповещения", "records": "Журналы",
    "map-time": "Время карты (UTC)", "now": "Сейчас", "all-times": "Весь день",
    "live": "на связи", "reconnecting": "переподключение…", "offline-state": "нет связи",
    "file-new": "Заявить операцию", "import": "Импорт GeoJSON", "no-operations": "Операций нет.",
    "state": "Состояние", "version": "версия", "accept": "Принять", "activate": "Активировать", "end": "Завершить", "cancel": "Отменить",
    "show": "Показать на карте", "no-conflicts": "Конфликтов нет.", "with": "с", "first-overlap": "первое перекрытие",
    "starts-in": "начало через", "started": "идёт", "acknowledged-by-us": "мы подтвердили их версию",
    "not-acknowledged-by-us": "мы не подтвердили их версию", "acknowledged-by-them": "они подтвердили нашу",
    "not-acknowledged-by-them": "они не подтвердили нашу", "acknowledge": "Подтвердить",
    "visibility": "видимость", "region-hidden": "область не раскрывается при этой видимости", "lead": "упреждение",
    "late-for": "поздно для", "inbox": "Входящие", "sent": "Отправленные", "compose": "Написать", "send": "Отправить",
    "to": "Кому", "class": "Класс", "template": "Шаблон", "annex": "Приложение (свободный текст, без перевода)",
    "original": "Оригинал (данные)", "ack": "Подтвердить", "ack-hash": "хеш геометрии", "receipt-due": "получение до",
    "ack-due": "подтверждение до", "overdue": "просрочено", "no-messages": "Сообщений нет.",
    "stop-received": "Получен СТОП / ОТБОЙ", "open": "Открыть", "line": "Линия", "suspended": "приостановлена",
    "suspend": "Приостановить линию", "resume": "Возобновить линию", "escalations": "Эскалации",
    "no-alerts": "Оповещений нет.", "export-audit": "Экспорт журнала аудита (JSON)", "export-conflicts": "Экспорт конфликтов дня (JSON)",
    "print": "Печать плана и конфликтов дня", "day": "День (UTC)",
    "id": "Идентификатор", "kind": "Контур", "polygon": "Многоугольник", "circle": "Круг", "corridor": "Коридор",
    "racetrack": "Орбита (ипподром)", "arc_sector": "Сектор дуги", "draw-hint": "Щёлкните по карте, чтобы поставить точки.",
    "points": "Точки (долгота широта, по одной в строке)", "radius": "Радиус", "width": "Ширина", "inner-radius": "Внутренний радиус",
    "outer-radius": "Внешний радиус", "start-bearing": "Начальный азимут (°)", "end-bearing": "Конечный азимут (°)",
    "lower": "Нижняя", "upper": "Верхняя", "units": "Единицы", "datum": "Отсчёт", "start": "Начало (UTC)", "end-time": "Конец (UTC)",
    "priority": "Приоритет", "purpose": "Назначение (не раскрывается)", "file": "Заявить", "clear": "Очистить точки",
    "awareness-title": "Подтверждение осведомлённости", "awareness-hint": "Для активации нужно подтвердить текущую версию каждой конфликтующей операции:",
    "signing-key": "Ключ подписи (PEM, Ed25519), если сторона его зарегистрировала", "close": "Закрыть", "activate-now": "Активировать",
    "filed": "Заявлено", "done": "Готово", "error": "Ошибка", "conflict": "Конфликт", "action": "Действие",
    "stop-banner": "СТОП / ОТБОЙ от", "message": "Сообщение", "tier": "уровень", "band": "Указать диапазон высот перекрытия", "policy-min": "согласованный минимум", "inside-lead": "меньше согласованного упреждения", "escalated": "эскалация",
  },
  ar: {
    "title": "وحدة تحكم فض الاشتباك", "skip": "انتقل إلى مساحة العمل", "party": "الطرف", "desk": "المكتب",
    "credential": "بيانات الاعتماد", "language": "اللغة", "utc": "التوقيت العالمي", "signout": "تسجيل الخروج",
    "signin-title": "تسجيل الدخول ببيانات اعتماد الطرف",
    "signin-hint": "معرّف العميل والسر اللذان أصدرهما المسؤول.",
    "client-id": "معرّف العميل", "client-secret": "السر", "signin": "دخول",
    "operations": "العمليات", "conflicts": "التعارضات", "hotline": "الخط الساخن", "alerts": "التنبيهات", "records": "السجلات",
    "map-time": "وقت الخريطة (UTC)", "now": "الآن", "all-times": "اليوم كله",
    "live": "متصل", "reconnecting": "جارٍ إعادة الاتصال…", "offline-state": "غير متصل",
    "file-new": "تقديم عملية", "import": "استيراد GeoJSON", "no-operations": "لا توجد عمليات.",
    "state": "الحالة", "version": "الإصدار", "accept": "قبول", "activate": "تفعيل", "end": "إنهاء", "cancel": "إلغاء",
    "show": "إظهار على الخريطة", "no-conflicts": "لا توجد تعارضات.", "with": "مع", "first-overlap": "أول تداخل",
    "starts-in": "يبدأ خلال", "started": "جارٍ", "acknowledged-by-us": "أقررنا بإصدارهم",
    "not-acknowledged-by-us": "لم نقر بإصدارهم", "acknowledged-by-them": "أقروا بإصدارنا",
    "not-acknowledged-by-them": "لم يقروا بإصدارنا", "acknowledge": "إقرار",
    "visibility": "الرؤية", "region-hidden": "المنطقة غير مكشوفة عند هذه الرؤية", "lead": "مهلة الإخطار",
    "late-for": "متأخر بالنسبة إلى", "inbox": "الوارد", "sent": "المرسل", "compose": "إنشاء", "send": "إرسال",
    "to": "إلى", "class": "الفئة", "template": "القالب", "annex": "ملحق (نص حر دون ترجمة)",
    "original": "الأصل (البيانات)", "ack": "إقرار", "ack-hash": "بصمة الهندسة", "receipt-due": "الاستلام قبل",
    "ack-due": "الإقرار قبل", "overdue": "متأخر", "no-messages": "لا توجد رسائل.",
    "stop-received": "وردت رسالة توقف / إلغاء", "open": "فتح", "line": "الخط", "suspended": "معلّق",
    "suspend": "تعليق الخط", "resume": "استئناف الخط", "escalations": "التصعيدات",
    "no-alerts": "لا توجد تنبيهات.", "export-audit": "تصدير سجل التدقيق (JSON)", "export-conflicts": "تصدير تعارضات اليوم (JSON)",
    "print": "طباعة خطة اليوم والتعارضات", "day": "اليوم (UTC)",
    "id": "المعرّف", "kind": "البصمة", "polygon": "مضلع", "circle": "دائرة", "corridor": "ممر",
    "racetrack": "مدار", "arc_sector": "قطاع قوسي", "draw-hint": "انقر على الخريطة لوضع النقاط.",
    "points": "النقاط (خط الطول خط العرض، نقطة في كل سطر)", "radius": "نصف القطر", "width": "العرض", "inner-radius": "نصف القطر الداخلي",
    "outer-radius": "نصف القطر الخارجي", "start-bearing": "اتجاه البداية (°)", "end-bearing": "اتجاه النهاية (°)",
    "lower": "الأدنى", "upper": "الأعلى", "units": "الوحدات", "datum": "المرجع", "start": "البداية (UTC)", "end-time": "النهاية (UTC)",
    "priority": "الأولوية", "purpose": "الغرض (لا يُشارك)", "file": "تقديم", "clear": "مسح النقاط",
    "awareness-title": "إثبات العلم", "awareness-hint": "يتطلب التفعيل الإقرار بالإصدار الحالي لكل عملية متعارضة:",
    "signing-key": "مفتاح التوقيع (PEM، Ed25519) إن سجّله طرفك", "close": "إغلاق", "activate-now": "تفعيل الآن",
    "filed": "قُدّمت", "done": "تم", "error": "خطأ", "conflict": "تعارض", "action": "الإجراء",
    "stop-banner": "توقف / إلغاء من", "message": "رسالة", "tier": "المستوى", "band": "ذكر نطاق ارتفاع التداخل", "policy-min": "الحد الأدنى المتفق عليه", "inside-lead": "ضمن مهلة الإخطار المتفق عليها", "escalated": "تم التصعيد",
  },
};

export const LANGUAGES = Object.keys(STRINGS);
let current = "en";

export function t(key) {
  return STRINGS[current][key] ?? STRINGS.en[key] ?? key;
}

export function language() {
  return current;
}

/** Switch the page's language: `lang` and `dir` on <html>, and every [data-i18n] label. */
export function setLanguage(lang, root = document) {
  current = STRINGS[lang] ? lang : "en";
  document.documentElement.lang = current;
  document.documentElement.dir = current === "ar" ? "rtl" : "ltr";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  document.title = t("title");
}

/** An element with text, attributes and children: the one way this console builds DOM
 * (text is always set as text, never parsed as HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** A countdown to `data-deadline` (UTC), shown as h:mm:ss, marked late once passed. */
export function updateCountdown(el) {
  const left = Math.round((Date.parse(el.dataset.deadline) - Date.now()) / 1000);
  const abs = Math.abs(left);
  const text = `${Math.floor(abs / 3600)}:${String(Math.floor((abs % 3600) / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  el.textContent = left >= 0 ? text : `${t("overdue")} ${text}`;
  el.classList.toggle("late", left < 0);
}
