<!DOCTYPE html>
<!-- Reproduces a WCO call-for-applications page, English interface: header with the language switcher (English and French versions) and navigation, breadcrumb, title, date line, the call's text with its deadline to the minute in Brussels time, and the application form and terms of reference as Word and PDF documents with their sizes. Text written for the sample; the call is listed on samples/wco-home-en.html with the day only. -->
<html lang="en">
<head>
<meta charset="utf-8">
<title>WCO/Japan Career Development Programme (2025/2026)</title>
<link rel="canonical" href="https://www.wcoomd.org/en/about-us/vacancies/cdp-2025.aspx">
</head>
<body>
<div class="header"><ul class="language-switcher"><li><a href="/en/about-us/vacancies/cdp-2025.aspx">english : english</a></li><li><a href="/fr/about-us/vacancies/cdp-2025.aspx">french : français</a></li></ul>
<div class="meta-navigation"><a href="/en/sitemap.aspx">sitemap</a> | <a href="/en/faq.aspx">faq</a> | <a href="/en/search.aspx">search</a></div></div>
<div class="main-navigation"><ul><li><a href="/en/about-us.aspx">About us</a></li><li><a href="/en/topics.aspx">Topics</a></li><li><a href="/en/media.aspx">Media</a></li><li><a href="/en/members.aspx">Members</a></li></ul></div>
<div class="breadcrumb"><a href="/en.aspx">Home</a> &gt; <a href="/en/about-us.aspx">About us</a> &gt; <a href="/en/about-us/vacancies.aspx">Vacancies</a></div>
<div id="content" class="content">
<h1>WCO/Japan Career Development Programme (2025/2026)</h1>
<p class="date">20 January 2025</p>
<div class="text">
<p>The WCO invites Customs officials of its Members to apply for the 2025/2026 Career Development Programme, funded by the Customs Cooperation Fund of Japan. Selected officials spend ten months at the WCO Secretariat in Brussels, working on one of its programmes alongside its staff.</p>
<p>Candidates must hold a university degree, have at least five years of Customs experience and be fluent in English or French. Applications are sent through the WCO contact point of the candidate's administration.</p>
<p id="details"><strong>Deadline for applications: 30 March 2025 at 17:00 Brussels time.</strong> Applications received later are not considered.</p>
<h2>Documents</h2>
<ul class="documents">
<li><a href="/-/media/wco/public/global/pdf/about-us/vacancies/cdp-2025/application-form.docx">Application form</a> (DOCX, 48 KB)</li>
<li><a href="/-/media/wco/public/global/pdf/about-us/vacancies/cdp-2025/terms-of-reference.pdf">Terms of reference (PDF, 312 KB)</a></li>
</ul>
</div>
</div>
<div class="footer"><p>Copyright © 2025 World Customs Organization. All rights reserved.</p><a href="/en/terms-and-conditions.aspx">Terms and conditions</a> | <a href="/en/privacy.aspx">Privacy</a></div>
</body>
</html>
